//! The written configuration and the client against a real FreeRADIUS: the server the
//! product configures (on SQLite, and on PostgreSQL when `LASTMILE_TEST_POSTGRES_URL` is
//! set), and a FreeRADIUS posing as a router for Disconnect and CoA.

mod fake_nas;
mod harness;
mod server;
