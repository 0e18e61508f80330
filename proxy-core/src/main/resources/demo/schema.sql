-- Sample data for `pgveil demo`: made-up people with realistic-looking sensitive fields.
-- Card numbers pass the Luhn check (like real ones) but belong to no one.

CREATE FUNCTION pg_temp.with_luhn_digit(digits text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT digits || ((10 - sum(d) % 10) % 10)::text
  FROM (SELECT CASE WHEN (length(digits) - i) % 2 = 0
                    THEN (substr(digits, i, 1)::int * 2) % 10 + (substr(digits, i, 1)::int * 2) / 10
                    ELSE substr(digits, i, 1)::int END AS d
        FROM generate_series(1, length(digits)) AS i) AS s
$$;

CREATE TABLE customers (
    id            serial PRIMARY KEY,
    full_name     text NOT NULL,
    email         text NOT NULL UNIQUE,
    phone         text,
    card_number   text,
    date_of_birth date,
    country       text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

INSERT INTO customers (full_name, email, phone, card_number, date_of_birth, country, created_at)
SELECT n.first || ' ' || n.last,
       lower(n.first) || '.' || lower(n.last) || i || '@example.com',
       '+1-' || (200 + (i * 37) % 800) || '-555-' || lpad(((i * 7919) % 10000)::text, 4, '0'),
       pg_temp.with_luhn_digit('4' || translate(substr(md5('card' || i), 1, 14), 'abcdef', '012345')),
       date '1950-01-01' + (i * 97) % 20000,
       (ARRAY['US', 'DE', 'FR', 'GB', 'JP', 'BR', 'IN', 'CA'])[1 + i % 8],
       timestamptz '2024-01-01 00:00:00+00' + i * interval '37 hours'
FROM generate_series(1, 200) AS i,
     LATERAL (SELECT (ARRAY['Ada', 'Grace', 'Alan', 'Linus', 'Margaret', 'Dennis', 'Barbara', 'Ken', 'Frances', 'Edsger'])[1 + i % 10] AS first,
                     (ARRAY['Lovelace', 'Hopper', 'Turing', 'Torvalds', 'Hamilton', 'Ritchie', 'Liskov', 'Thompson',
                            'Allen', 'Dijkstra', 'Knuth', 'Codd'])[1 + (i * 7) % 12] AS last) AS n;

CREATE TABLE orders (
    id          serial PRIMARY KEY,
    customer_id int NOT NULL REFERENCES customers(id),
    product     text NOT NULL,
    amount      numeric(10, 2) NOT NULL,
    status      text NOT NULL CHECK (status IN ('pending', 'paid', 'shipped', 'refunded')),
    created_at  timestamptz NOT NULL
);

INSERT INTO orders (customer_id, product, amount, status, created_at)
SELECT 1 + (i * 31) % 200,
       (ARRAY['keyboard', 'monitor', 'laptop', 'headphones', 'desk', 'chair', 'webcam'])[1 + i % 7],
       round((19.99 + (i * 37) % 1500)::numeric, 2),
       (ARRAY['pending', 'paid', 'paid', 'shipped', 'shipped', 'shipped', 'refunded'])[1 + (i * 3) % 7],
       timestamptz '2024-06-01 00:00:00+00' + i * interval '5 hours'
FROM generate_series(1, 1000) AS i;

CREATE SCHEMA internal;

CREATE TABLE internal.secrets (
    id         serial PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    value      text NOT NULL,
    rotated_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO internal.secrets (name, value) VALUES
    ('payments_api_key', 'sk_live_demo_8f3a9c2e7b1d4f6a'),
    ('smtp_password', 'demo-smtp-Zq7!xP2v'),
    ('webhook_signing_secret', 'whsec_demo_41c0ffee');

CREATE TABLE support_tickets (
    id          serial PRIMARY KEY,
    customer_id int NOT NULL REFERENCES customers(id),
    assignee    text NOT NULL,
    subject     text NOT NULL,
    status      text NOT NULL
);

INSERT INTO support_tickets (customer_id, assignee, subject, status)
SELECT 1 + (i * 13) % 200,
       (ARRAY['agent-7', 'agent-9', 'ana@example.com'])[1 + i % 3],
       (ARRAY['refund request', 'card declined', 'address change', 'late delivery'])[1 + i % 4],
       (ARRAY['open', 'open', 'closed'])[1 + (i * 5) % 3]
FROM generate_series(1, 60) AS i;

-- Each identity sees only the tickets assigned to it: pgveil sets pgveil.subject for every session.
ALTER TABLE support_tickets ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_tickets ON support_tickets USING (assignee = current_setting('pgveil.subject', true));

-- The roles identities map to (see the roles rules in pgveil demo's configuration).
GRANT USAGE ON SCHEMA public TO agent_reader, analyst;
-- The agent reads every column of customers: pgveil masks email, phone, card number and date of birth for it.
GRANT SELECT ON customers TO agent_reader;
GRANT SELECT ON orders, support_tickets TO agent_reader;
GRANT SELECT ON customers, orders, support_tickets TO analyst;

ANALYZE;
