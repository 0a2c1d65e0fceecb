-- 002: identity (issue 3): users and rotating refresh tokens for the auth worker.
-- The role fintwin_auth gets DML on these tables through 001's default privileges.

CREATE TABLE auth.users (
    id                  uuid PRIMARY KEY,
    email               text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    -- The whole address lowercased: uniqueness ignores case, the stored email keeps the
    -- local part as typed.
    email_norm          text NOT NULL UNIQUE CHECK (email_norm = lower(email_norm)),
    email_verified      boolean NOT NULL DEFAULT false,
    password_hash       text CHECK (password_hash LIKE '$argon2id$%'), -- NULL: Google only
    google_sub          text UNIQUE,
    full_name           text NOT NULL,
    picture             text,
    account_name        text,
    phone_number        text CHECK (phone_number ~ '^\+?[0-9]{7,15}$'),
    currency_preference text CHECK (currency_preference IN ('USD', 'EUR', 'INR', 'GBP')),
    -- Minor units of currency_preference (never floating point).
    monthly_income      bigint CHECK (monthly_income >= 0),
    financial_goal      text CHECK (financial_goal IN ('savings', 'investment', 'debt_payoff',
                                                       'wealth_building')),
    risk_appetite       text CHECK (risk_appetite IN ('low', 'medium', 'high')),
    is_profile_complete boolean NOT NULL DEFAULT false,
    default_account_id  uuid,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_income_has_currency
        CHECK (monthly_income IS NULL OR currency_preference IS NOT NULL),
    CONSTRAINT users_complete_profile
        CHECK (NOT is_profile_complete OR (account_name IS NOT NULL AND phone_number IS NOT NULL
               AND currency_preference IS NOT NULL AND monthly_income IS NOT NULL
               AND financial_goal IS NOT NULL AND risk_appetite IS NOT NULL)),
    CONSTRAINT users_can_sign_in CHECK (password_hash IS NOT NULL OR google_sub IS NOT NULL)
);

-- One row per refresh token ever issued. Only the SHA-256 of the token is stored. A login
-- starts a family; each refresh marks its token used and adds the next one to the family;
-- presenting a used or revoked token revokes the whole family.
CREATE TABLE auth.refresh_tokens (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    family_id  uuid NOT NULL,
    token_hash bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    access_jti uuid, -- jti of the access token minted together with this refresh token
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz
);

-- Lookups: by token_hash (the UNIQUE index), by family (reuse revokes the family), by the
-- access token's jti within a user (logout; its leading user_id also serves ON DELETE CASCADE).
CREATE INDEX refresh_tokens_family ON auth.refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_jti ON auth.refresh_tokens (user_id, access_jti);
