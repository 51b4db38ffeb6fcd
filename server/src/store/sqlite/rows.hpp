#pragma once
// Records to and from the columns of the store's statements, in the column orders that
// store/sqlite/statements names (app_columns, user_columns, call_columns, outbox_columns).

#include "store/call_record.hpp"
#include "store/records.hpp"
#include "store/sqlite/statement.hpp"

namespace parley::store::sqlite {

app_record read_app(const statement& s);
// From columns 0-6.
user_record read_user(const statement& s);
call_record read_call(const statement& s);
// Binds every column of insert_call.
void bind_call(statement& s, const call_record& c);
outbox_entry read_outbox(const statement& s);

}  // namespace parley::store::sqlite
