"""The statements of the operators' pool (data/operator.py): one function call each.

eco_operator may execute these functions of migration 0019 and nothing else;
arguments travel as bind parameters, and each statement keeps the LIMIT rule.
"""

from __future__ import annotations

from ksys_app.data.queries import Query

BEGIN_LOGIN = Query("operator_begin_login", "SELECT ksys.operator_begin_login($1::text, $2::text) AS v LIMIT 1")
FINISH_LOGIN = Query("operator_finish_login",
                     "SELECT ksys.operator_finish_login($1::text, $2::text, $3::boolean) AS v LIMIT 1")
WHOAMI = Query("operator_whoami",
               "SELECT operator, display_name, expires_at FROM ksys.operator_whoami($1::text) LIMIT 1")
LOGOUT = Query("operator_logout", "SELECT ksys.operator_logout($1::text) AS v LIMIT 1")
ACK = Query("alarm_ack", "SELECT ksys.alarm_ack($1::text, $2::text[], $3::text[], $4::text) AS n LIMIT 1")
SHELVE = Query("alarm_shelve",
               "SELECT ksys.alarm_shelve($1::text, $2::text[], $3::text[], $4::integer, $5::text) AS n LIMIT 1")
UNSHELVE = Query("alarm_unshelve",
                 "SELECT ksys.alarm_unshelve($1::text, $2::text[], $3::text[], $4::text) AS n LIMIT 1")
