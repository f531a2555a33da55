-- The tables as the release before migrations created them (booking store, tracker store,
-- console, and Rasa's events table), generated from that release's table definitions.

CREATE TABLE booking_requests (
	id INTEGER NOT NULL,
	reference TEXT NOT NULL,
	kind TEXT NOT NULL,
	status TEXT NOT NULL,
	conversation_id TEXT NOT NULL,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL,
	details TEXT NOT NULL,
	PRIMARY KEY (id),
	UNIQUE (reference)
);
CREATE INDEX ix_booking_requests_conversation_id ON booking_requests (conversation_id);

CREATE TABLE outbox (
	id INTEGER NOT NULL,
	request_id INTEGER NOT NULL,
	channel TEXT NOT NULL,
	idempotency_key TEXT NOT NULL,
	state TEXT NOT NULL,
	attempts INTEGER NOT NULL,
	next_attempt_at DATETIME NOT NULL,
	last_error TEXT,
	delivered_at DATETIME,
	PRIMARY KEY (id),
	FOREIGN KEY(request_id) REFERENCES booking_requests (id) ON DELETE CASCADE,
	UNIQUE (idempotency_key)
);
CREATE INDEX ix_outbox_request_id ON outbox (request_id);
CREATE INDEX ix_outbox_state_next_attempt_at ON outbox (state, next_attempt_at);

CREATE TABLE bts_tracker_checkpoints (
	sender_id VARCHAR(255) NOT NULL,
	event_id INTEGER NOT NULL,
	slots TEXT NOT NULL,
	PRIMARY KEY (sender_id)
);

CREATE TABLE events (
	id INTEGER NOT NULL,
	sender_id VARCHAR(255) NOT NULL,
	type_name VARCHAR(255) NOT NULL,
	timestamp FLOAT,
	intent_name VARCHAR(255),
	action_name VARCHAR(255),
	data TEXT,
	PRIMARY KEY (id)
);
CREATE INDEX ix_events_sender_id ON events (sender_id);

CREATE TABLE console_audit (
	id INTEGER NOT NULL,
	ts FLOAT NOT NULL,
	username VARCHAR(64) NOT NULL,
	role VARCHAR(16) NOT NULL,
	action VARCHAR(40) NOT NULL,
	target_type VARCHAR(24),
	target_id VARCHAR(255),
	detail TEXT,
	ip VARCHAR(64),
	PRIMARY KEY (id)
);
CREATE INDEX ix_console_audit_action ON console_audit (action);
CREATE INDEX ix_console_audit_ts ON console_audit (ts);

CREATE TABLE console_conversations (
	id INTEGER NOT NULL,
	sender_id VARCHAR(255) NOT NULL,
	first_ts FLOAT NOT NULL,
	last_ts FLOAT NOT NULL,
	n_user INTEGER NOT NULL,
	n_bot INTEGER NOT NULL,
	n_sessions INTEGER NOT NULL,
	has_fallback BOOLEAN NOT NULL,
	has_low_confidence BOOLEAN NOT NULL,
	has_red_flag BOOLEAN NOT NULL,
	red_flag_category VARCHAR(64),
	booking_reference VARCHAR(32),
	handoff_reference VARCHAR(32),
	min_confidence FLOAT,
	preview VARCHAR(200),
	reviewed_at FLOAT,
	reviewed_by VARCHAR(64),
	PRIMARY KEY (id),
	UNIQUE (sender_id)
);
CREATE INDEX ix_console_conversations_first_ts ON console_conversations (first_ts);
CREATE INDEX ix_console_conversations_last_ts ON console_conversations (last_ts);

CREATE TABLE console_login_attempts (
	username VARCHAR(64) NOT NULL,
	failures INTEGER NOT NULL,
	first_failure_at FLOAT NOT NULL,
	locked_until FLOAT,
	PRIMARY KEY (username)
);

CREATE TABLE console_messages (
	event_id INTEGER NOT NULL,
	conversation_id INTEGER NOT NULL,
	ts FLOAT NOT NULL,
	text TEXT NOT NULL,
	intent VARCHAR(255),
	confidence FLOAT,
	is_fallback BOOLEAN NOT NULL,
	is_low_confidence BOOLEAN NOT NULL,
	PRIMARY KEY (event_id)
);
CREATE INDEX ix_console_messages_conversation_id ON console_messages (conversation_id);
CREATE INDEX ix_console_messages_ts ON console_messages (ts);

CREATE TABLE console_nlu_labels (
	event_id INTEGER NOT NULL,
	conversation_id INTEGER NOT NULL,
	text TEXT NOT NULL,
	predicted_intent VARCHAR(255),
	intent VARCHAR(255),
	status VARCHAR(16) NOT NULL,
	labelled_by VARCHAR(64) NOT NULL,
	labelled_at FLOAT NOT NULL,
	PRIMARY KEY (event_id)
);
CREATE INDEX ix_console_nlu_labels_conversation_id ON console_nlu_labels (conversation_id);

CREATE TABLE console_notes (
	id INTEGER NOT NULL,
	conversation_id INTEGER NOT NULL,
	author VARCHAR(64) NOT NULL,
	body TEXT NOT NULL,
	created_at FLOAT NOT NULL,
	PRIMARY KEY (id)
);
CREATE INDEX ix_console_notes_conversation_id ON console_notes (conversation_id);

CREATE TABLE console_state (
	"key" VARCHAR(64) NOT NULL,
	value TEXT NOT NULL,
	PRIMARY KEY ("key")
);

CREATE TABLE console_tags (
	id INTEGER NOT NULL,
	conversation_id INTEGER NOT NULL,
	tag VARCHAR(40) NOT NULL,
	created_by VARCHAR(64) NOT NULL,
	created_at FLOAT NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uq_console_tags_conversation_tag UNIQUE (conversation_id, tag)
);
CREATE INDEX ix_console_tags_conversation_id ON console_tags (conversation_id);
CREATE INDEX ix_console_tags_tag ON console_tags (tag);

CREATE TABLE console_users (
	id INTEGER NOT NULL,
	username VARCHAR(64) NOT NULL,
	password_hash VARCHAR(255) NOT NULL,
	role VARCHAR(16) NOT NULL,
	active BOOLEAN NOT NULL,
	created_at FLOAT NOT NULL,
	last_login_at FLOAT,
	PRIMARY KEY (id),
	UNIQUE (username)
);

CREATE TABLE console_sessions (
	id VARCHAR(64) NOT NULL,
	user_id INTEGER NOT NULL,
	created_at FLOAT NOT NULL,
	last_seen_at FLOAT NOT NULL,
	reveals TEXT NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(user_id) REFERENCES console_users (id)
);
CREATE INDEX ix_console_sessions_user_id ON console_sessions (user_id);

CREATE TRIGGER IF NOT EXISTS console_audit_no_update BEFORE UPDATE ON console_audit BEGIN SELECT RAISE(ABORT, 'console_audit is append-only'); END;
CREATE TRIGGER IF NOT EXISTS console_audit_no_delete BEFORE DELETE ON console_audit BEGIN SELECT RAISE(ABORT, 'console_audit is append-only'); END;
