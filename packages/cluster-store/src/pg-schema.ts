/**
 * The catalog's tables, created and migrated at start: each entry of MIGRATIONS runs once, in
 * order, under an advisory lock so servers starting together do not race. Paths use the "C"
 * collation: byte order, which for UTF-8 is code-point order (protocol.md §4.3's listing order).
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE files (
    path text COLLATE "C" PRIMARY KEY,
    kind char(1) NOT NULL CHECK (kind IN ('f', 'd')),
    object text,
    size bigint NOT NULL DEFAULT 0,
    sha256 text,
    mtime bigint NOT NULL
  );
  CREATE TABLE sessions (
    key text PRIMARY KEY,
    space text COLLATE "C" NOT NULL,
    name text NOT NULL,
    size bigint NOT NULL,
    chunk_size bigint NOT NULL,
    object text NOT NULL,
    upload_id text NOT NULL,
    "offset" bigint NOT NULL,
    parts jsonb NOT NULL,
    chunks jsonb NOT NULL,
    hash_state bytea NOT NULL,
    touched bigint NOT NULL,
    holder integer
  );
  CREATE TABLE reservations (
    id bigserial PRIMARY KEY,
    space text COLLATE "C" NOT NULL,
    bytes bigint NOT NULL,
    holder integer NOT NULL
  );
  CREATE TABLE trash (
    object text PRIMARY KEY,
    after bigint NOT NULL
  );
  `,
  // Share links (docs/sharing.md): the key is the SHA-256 of the link's secret.
  `
  CREATE TABLE shares (
    key text PRIMARY KEY,
    owner text,
    kind text NOT NULL CHECK (kind IN ('download', 'upload')),
    paths jsonb NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    max_downloads bigint,
    downloads bigint NOT NULL DEFAULT 0,
    password text,
    max_bytes bigint,
    max_files bigint,
    uploaded_bytes bigint NOT NULL DEFAULT 0,
    uploaded_files bigint NOT NULL DEFAULT 0
  );
  CREATE INDEX shares_owner ON shares (owner, created_at);
  `,
];

/** Advisory lock keys (pg_advisory_xact_lock's two-int form, first int) of the catalog's own locks. */
export const LOCK_SPACE = {
  migrate: 0x46455259, // "FERY"
} as const;
