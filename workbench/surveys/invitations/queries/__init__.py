"""SQL of survey delivery and answers: deliveries, invitations, the customer message log (the
contact cap and the gateway's outbox), reminders, responses and the staff inbox. The only place
that talks to PostgreSQL for survey invitations.

Scope is applied here, in SQL: an RM reaches their own customers; a branch head customers owned
by RMs of their subtree and the staff of their subtree; an admin (no scope root) everyone.

One private module per role, re-exported here:
- `_surveys`: the survey sent (ever published; its status held while invitations go out)
- `_scope`: whom a caller may send to (customers, staff, units)
- `_deliveries`: deliveries and their recipients, walked in chunks (`_DELIVERY`: a listed
  delivery's columns)
- `_open_links`: each person invited once (per-person locks; open links and inbox invitations)
- `_messages`: the customer message log (the contact cap; the gateway's outbox)
- `_invitations`: invitations of customers and staff, one as its link opens it, and the links
  of customers the bank closed ended
- `_shares`: links an RM hands over themselves (shares, their `client_ref`s, posters)
- `_reminders`: reminders of unanswered customer invitations
- `_responses`: the answer stored, and the customer's owner and tags it touches
- `_inbox`: the staff inbox
- `_common`: what they share (`Record`, an invitation's columns)
"""

from workbench.surveys.invitations.queries._common import Record
from workbench.surveys.invitations.queries._deliveries import (
    advance_delivery,
    claim_delivery,
    count_recipients,
    delivery_in_scope,
    fail_delivery,
    insert_delivery,
    next_recipients,
    start_delivery,
)
from workbench.surveys.invitations.queries._inbox import inbox
from workbench.surveys.invitations.queries._invitations import (
    end_links_of,
    insert_customer_invitations,
    insert_user_invitations,
    invitation,
    invitations_of_delivery,
)
from workbench.surveys.invitations.queries._messages import (
    capped_customers,
    insert_messages,
    messages_after,
)
from workbench.surveys.invitations.queries._open_links import (
    holding_open_invitations,
    holding_open_links,
    lock_contacts,
    lock_inboxes,
    open_links,
)
from workbench.surveys.invitations.queries._reminders import (
    due_reminders,
    mark_reminded,
)
from workbench.surveys.invitations.queries._responses import (
    add_customer_tags,
    customer_owner,
    insert_response,
)
from workbench.surveys.invitations.queries._scope import (
    any_customers,
    customers_by_external_id,
    customers_in_scope,
    staff_of_subtree,
    unit_in_scope,
    unit_name_in_scope,
    units_in_scope,
    users_in_scope,
)
from workbench.surveys.invitations.queries._shares import (
    insert_share_invitation,
    insert_share_ref,
    share_by_ref,
    share_invitation,
)
from workbench.surveys.invitations.queries._surveys import (
    survey_status,
    survey_to_send,
    surveys_after_template,
)

__all__ = [
    "Record",
    "add_customer_tags",
    "advance_delivery",
    "any_customers",
    "capped_customers",
    "claim_delivery",
    "count_recipients",
    "customer_owner",
    "customers_by_external_id",
    "customers_in_scope",
    "delivery_in_scope",
    "due_reminders",
    "end_links_of",
    "fail_delivery",
    "holding_open_invitations",
    "holding_open_links",
    "inbox",
    "insert_customer_invitations",
    "insert_delivery",
    "insert_messages",
    "insert_response",
    "insert_share_invitation",
    "insert_share_ref",
    "insert_user_invitations",
    "invitation",
    "invitations_of_delivery",
    "lock_contacts",
    "lock_inboxes",
    "mark_reminded",
    "messages_after",
    "next_recipients",
    "open_links",
    "share_by_ref",
    "share_invitation",
    "staff_of_subtree",
    "start_delivery",
    "survey_status",
    "survey_to_send",
    "surveys_after_template",
    "unit_in_scope",
    "unit_name_in_scope",
    "units_in_scope",
    "users_in_scope",
]
