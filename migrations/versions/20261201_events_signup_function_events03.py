"""events: the sign-up's writes in one PostgreSQL function (one round trip in a rush)

Revision ID: events03
Revises: console01
Create Date: 2026-12-01

``events_sign_up`` does, in one statement and so in one transaction of its own, what the portable path
(`app/services/events/signup.py`) does in five to seven: claim the Idempotency-Key, insert the
registration, take the place by the conditional UPDATE or else take the waitlist position under the
shared quota lock, and store the answer under the key. It decides nothing about the person: Python
decides eligibility from the same rules for both paths and calls this only for someone allowed in.
It ends with an error (rolling everything back) in the three cases the portable path handles:
YE001 the quota was closed (event cancelled), YE002 an active registration appeared since the read
(a twin request), YE003 places stand free while people wait (a cancellation: promotion is Python's).
SQLite has no functions: it always takes the portable path. Changing the function means a new
migration with ``CREATE OR REPLACE``, so the code and the database's version move together.
"""

from collections.abc import Sequence

from alembic import op

revision: str = 'events03'
down_revision: str | Sequence[str] | None = 'console01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = """
CREATE OR REPLACE FUNCTION events_sign_up(
    p_scope text, p_key text, p_route text, p_hash text, p_status_code integer, p_body json,
    p_event_id integer, p_user_id integer, p_quota_id integer, p_quota_key text, p_take boolean,
    p_lock_class integer, p_now timestamptz
) RETURNS TABLE (outcome text, reg_id integer, reg_status text, waitlist_position integer,
                 stored_hash text, stored_status integer, stored_body json)
LANGUAGE plpgsql AS $$
DECLARE
    v_record integer;
    v_reg integer;
    v_status text;
    v_position integer;
    q record;
BEGIN
    IF p_key IS NOT NULL THEN
        -- A twin request with the same key waits here on the unique index until it commits.
        INSERT INTO idempotency_records (scope, key, route, request_hash, status_code, created_at)
        VALUES (p_scope, p_key, p_route, p_hash, 0, p_now)
        ON CONFLICT (scope, key) DO NOTHING
        RETURNING id INTO v_record;
        IF v_record IS NULL THEN
            RETURN QUERY SELECT 'replay'::text, NULL::integer, NULL::text, NULL::integer,
                                r.request_hash::text, r.status_code, r.response_body
                         FROM idempotency_records r WHERE r.scope = p_scope AND r.key = p_key;
            RETURN;
        END IF;
    END IF;

    -- The person before the quota: a duplicate stops at the unique index, not on the hot row.
    v_status := CASE WHEN p_take THEN 'confirmed' ELSE 'waitlisted' END;
    INSERT INTO event_registrations (event_id, user_id, quota_key, status, created_at, late_cancel)
    VALUES (p_event_id, p_user_id, p_quota_key, v_status, p_now, false)
    ON CONFLICT DO NOTHING
    RETURNING id INTO v_reg;
    IF v_reg IS NULL THEN
        RAISE EXCEPTION 'an active registration exists' USING ERRCODE = 'YE002';
    END IF;

    IF p_take THEN
        UPDATE event_quotas SET taken = taken + 1
        WHERE id = p_quota_id AND taken + 1 <= capacity AND open;
        IF NOT FOUND THEN
            v_status := NULL;
        END IF;
    END IF;

    IF v_status IS DISTINCT FROM 'confirmed' THEN
        -- Full (or people wait): decide under the shared quota lock, as the portable path does.
        PERFORM pg_advisory_xact_lock_shared(p_lock_class, p_quota_id);
        SELECT eq.taken, eq.capacity, eq.open,
               (SELECT count(*) FROM event_registrations r
                WHERE r.event_id = p_event_id AND r.quota_key = p_quota_key AND r.status = 'waitlisted'
                  AND r.id < v_reg) AS ahead
        INTO q FROM event_quotas eq WHERE eq.id = p_quota_id;
        IF NOT q.open THEN
            RAISE EXCEPTION 'the quota is closed' USING ERRCODE = 'YE001';
        END IF;
        IF q.taken < q.capacity THEN
            RAISE EXCEPTION 'places stand free while people wait' USING ERRCODE = 'YE003';
        END IF;
        IF p_take THEN
            UPDATE event_registrations SET status = 'waitlisted' WHERE id = v_reg;
        END IF;
        v_status := 'waitlisted';
        v_position := q.ahead + 1;
    END IF;

    IF v_record IS NOT NULL THEN
        UPDATE idempotency_records
        SET status_code = p_status_code,
            response_body = (p_body::jsonb || jsonb_build_object(
                'id', v_reg, 'status', v_status, 'waitlist_position', v_position))::json
        WHERE id = v_record;
    END IF;
    RETURN QUERY SELECT 'ok'::text, v_reg, v_status, v_position, NULL::text, NULL::integer, NULL::json;
END
$$;
"""


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS events_sign_up(text, text, text, text, integer, json, integer, "
                   "integer, integer, text, boolean, integer, timestamptz)")
