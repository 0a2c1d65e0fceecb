-- 004: stored notifications (issue 5) for the notification worker (schema notify), and the one
-- read-only window it gets into the ledger.
-- The role fintwin_notification gets DML on notify.notifications through 001's default
-- privileges. Notifications are created only by the worker's event handlers (txn.posted,
-- profile.updated, risk.alert, twin.simulated); users can list, mark read and delete their own.

CREATE TABLE notify.notifications (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL, -- the recipient; every query of the worker filters on it
    account_id   uuid,          -- the recipient's ledger account the event concerns, if any
    title        text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 120),
    message      text NOT NULL CHECK (char_length(message) BETWEEN 1 AND 1000),
    type         text NOT NULL CHECK (type IN ('info', 'alert', 'risk')),
    is_read      boolean NOT NULL DEFAULT false,
    source_event uuid,          -- the event it was made from
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- The inbox already applies each event once; this is the second line of defence, so even
    -- a handler that ran twice cannot notify the same user twice about one event.
    CONSTRAINT notifications_one_per_event UNIQUE (source_event, user_id)
);
-- Lists, newest first (ORDER BY created_at DESC, id DESC) per user.
CREATE INDEX notifications_user_recent ON notify.notifications (user_id, created_at DESC, id DESC);
-- Unread counts and "mark all read": only the unread rows, per user and account.
CREATE INDEX notifications_user_unread ON notify.notifications (user_id, account_id)
    WHERE NOT is_read;

-- Which user owns which ledger account, for the notification worker's ownership checks
-- (GET /api/notifications/{account_id}). External accounts (owner NULL) are left out.
CREATE VIEW ledger.account_owners AS
    SELECT id, owner FROM ledger.accounts WHERE owner IS NOT NULL;
-- 001's default privileges gave fintwin_transaction DML on every new relation in ledger, this
-- view included; a simple view is auto-updatable with its owner's rights, so DML through it
-- would sidestep 003's REVOKE DELETE on ledger.accounts. Only SELECT, and only for the reader.
REVOKE ALL ON ledger.account_owners FROM PUBLIC, fintwin_transaction;
GRANT USAGE ON SCHEMA ledger TO fintwin_notification;
GRANT SELECT ON ledger.account_owners TO fintwin_notification;
