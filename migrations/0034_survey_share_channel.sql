-- A survey shared by an RM (an invitation made without a delivery or task) keeps the channel it
-- was first shared over, as brochure shares do. Shares made before have none (read as `link`).
alter table survey_invitations
    add column share_channel text check (share_channel in ('wechat', 'sms', 'qr', 'link'));

-- The app's client_refs that name a survey share: the one that made the link, and each later
-- share request answered with that link while it was open (a double tap, a lost link). A resend
-- of any of them answers the same link, whatever happened to it since; each is compared with
-- what it was sent with. Shares made before name theirs by their id (uuid5 of the client_ref).
create table survey_share_refs (
    client_ref    uuid primary key,
    invitation_id uuid not null references survey_invitations (id) on delete cascade,
    sent_by       uuid not null references users (id),
    channel       text not null check (channel in ('wechat', 'sms', 'qr', 'link')),
    created_at    timestamptz not null default now()
);
create index survey_share_refs_invitation on survey_share_refs (invitation_id);
