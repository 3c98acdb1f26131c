-- An RM's share list shows their survey shares beside their brochure shares (an invitation made
-- by sharing: a customer's, without a delivery or a task), newest first, page by page: by the
-- RM who shared, or for a branch head by the unit it was shared in, as shares_rm and shares_unit
-- read brochure shares. Deliveries make most invitations; these indexes hold only the shares.
create index survey_invitations_shared_by on survey_invitations (sent_by, sent_at desc, id desc)
    where customer_id is not null and delivery_id is null and task_id is null;
create index survey_invitations_shared_in on survey_invitations (org_unit_id, sent_at desc, id desc)
    where customer_id is not null and delivery_id is null and task_id is null;
