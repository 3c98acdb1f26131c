-- A survey shared by an RM (an invitation made without a delivery or task) keeps the channel it
-- was shared over and the app's client_ref that names it, as brochure shares do: a resend is
-- compared with what is stored, and answered with it. Shares made before have neither (a resend
-- of those is answered by the customer's open link, while it is open).
alter table survey_invitations
    add column share_channel text check (share_channel in ('wechat', 'sms', 'qr', 'link')),
    add column client_ref uuid;

create unique index survey_invitations_client_ref on survey_invitations (client_ref)
    where client_ref is not null;
