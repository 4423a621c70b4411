//! Unit tests of the embedded engine's database corrections.

use super::*;

fn rows(db: &EmbeddedDatabase, session: SessionId, sql: &str) -> Vec<String> {
    db.execute_session_batch_sql(session, sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .map(|r| {
            r.rows
                .iter()
                .map(|row| {
                    row.iter()
                        .map(Value::to_string_value)
                        .collect::<Vec<_>>()
                        .join(" | ")
                })
                .collect()
        })
        .unwrap_or_default()
}

fn run(db: &EmbeddedDatabase, session: SessionId, sql: &str) {
    db.execute_session_batch_sql(session, sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn clone_with_references() -> (EmbeddedDatabase, SessionId) {
    let db = EmbeddedDatabase::new();
    let s = db.create_session();
    for sql in [
        "CREATE TABLE CUSTOMER (ID BIGINT IDENTITY(1,1) NOT NULL PRIMARY KEY, NAME NVARCHAR(MAX) NULL)",
        "INSERT INTO CUSTOMER (NAME) VALUES (N'Ada'), (N'Alan'), (N'Grace')",
        "CREATE TABLE ORDERS (ID BIGINT IDENTITY(1,1) NOT NULL PRIMARY KEY, \
         CUSTOMER_ID BIGINT NULL REFERENCES CUSTOMER (ID))",
        "INSERT INTO ORDERS (CUSTOMER_ID) VALUES (1), (2)",
        "CREATE TABLE NOTE (ID INT NOT NULL PRIMARY KEY, CUSTOMER_ID BIGINT NULL, \
         CONSTRAINT FK_NOTE_CUSTOMER FOREIGN KEY (CUSTOMER_ID) REFERENCES CUSTOMER (ID) ON DELETE CASCADE)",
        "INSERT INTO NOTE VALUES (1, 1), (2, 3)",
    ] {
        run(&db, s, sql);
    }
    (db, s)
}

/// A referenced row is updated as SQL Server would (the engine alone refuses it, and under
/// `ON DELETE CASCADE` deletes the rows referencing it); every key is back afterwards, its
/// declared action included. See: issue 21
#[test]
fn a_referenced_row_is_updated_and_its_keys_kept_issue_21() {
    let (db, s) = clone_with_references();
    run(
        &db,
        s,
        "UPDATE CUSTOMER SET NAME = N'Person 1' WHERE ID = 1",
    );
    run(
        &db,
        s,
        "UPDATE t SET NAME = v.c0 FROM [dbo].[CUSTOMER] AS t INNER JOIN (VALUES (CAST(3 AS BIGINT), N'Person 3')) AS v(k0, c0) ON t.[ID] = v.k0",
    );
    assert_eq!(
        rows(&db, s, "SELECT ID, NAME FROM CUSTOMER ORDER BY ID"),
        ["1 | Person 1", "2 | Alan", "3 | Person 3"]
    );
    assert_eq!(rows(&db, s, "SELECT ID FROM NOTE ORDER BY ID"), ["1", "2"]);
    assert_eq!(
        rows(&db, s, "SELECT name FROM sys.foreign_keys ORDER BY name").len(),
        2
    );
    // The keys still hold: an order of no customer is refused, and the cascade declared on
    // NOTE still deletes the notes of a deleted customer.
    assert!(db
        .execute_session_batch_sql(s, "INSERT INTO ORDERS (CUSTOMER_ID) VALUES (99)")
        .is_err());
    run(&db, s, "DELETE FROM CUSTOMER WHERE ID = 3");
    assert_eq!(rows(&db, s, "SELECT ID FROM NOTE ORDER BY ID"), ["1"]);
}

/// An update that writes a referenced key is left to the engine (which refuses it), and a
/// rolled-back transaction leaves every key as it was. See: issue 21
#[test]
fn key_changes_are_refused_and_rollbacks_keep_the_keys_issue_21() {
    let (db, s) = clone_with_references();
    assert!(db
        .execute_session_batch_sql(s, "UPDATE CUSTOMER SET ID = 9 WHERE ID = 1")
        .is_err());
    run(&db, s, "BEGIN TRANSACTION");
    run(&db, s, "UPDATE CUSTOMER SET NAME = N'gone' WHERE ID = 2");
    run(&db, s, "ROLLBACK TRANSACTION");
    assert_eq!(
        rows(&db, s, "SELECT NAME FROM CUSTOMER WHERE ID = 2"),
        ["Alan"]
    );
    assert_eq!(
        rows(&db, s, "SELECT name FROM sys.foreign_keys ORDER BY name").len(),
        2
    );
    assert!(db
        .execute_session_batch_sql(s, "DELETE FROM CUSTOMER WHERE ID = 2")
        .is_err());
}

/// What an update trigger queues inside a transaction is kept, as SQL Server keeps it,
/// whether or not the transaction wrote the queue before; a rollback takes it out.
#[test]
fn trigger_writes_inside_a_transaction_are_kept() {
    let db = EmbeddedDatabase::new();
    let s = db.create_session();
    for sql in [
        "CREATE TABLE CUSTOMER (ID BIGINT IDENTITY(1,1) NOT NULL PRIMARY KEY, NAME NVARCHAR(MAX) NULL)",
        "INSERT INTO CUSTOMER (NAME) VALUES (N'Ada'), (N'Alan')",
        "CREATE TABLE EVENT_QUEUE (ID INT IDENTITY(1,1) NOT NULL PRIMARY KEY, DATA_ID NVARCHAR(20) NULL)",
        "CREATE TRIGGER TRG_CUSTOMER ON CUSTOMER AFTER UPDATE AS BEGIN \
         INSERT INTO EVENT_QUEUE (DATA_ID) SELECT CONVERT(VARCHAR(20), ID) FROM INSERTED END",
    ] {
        run(&db, s, sql);
    }
    run(&db, s, "BEGIN TRANSACTION");
    run(&db, s, "UPDATE CUSTOMER SET NAME = N'x' WHERE ID = 1");
    assert_eq!(rows(&db, s, "SELECT DATA_ID FROM EVENT_QUEUE"), ["1"]);
    run(
        &db,
        s,
        "UPDATE t SET NAME = v.c0 FROM [dbo].[CUSTOMER] AS t INNER JOIN (VALUES (CAST(2 AS BIGINT), N'y')) AS v(k0, c0) ON t.[ID] = v.k0",
    );
    run(&db, s, "COMMIT TRANSACTION");
    assert_eq!(
        rows(&db, s, "SELECT DATA_ID FROM EVENT_QUEUE ORDER BY ID"),
        ["1", "2"]
    );
    run(&db, s, "BEGIN TRANSACTION");
    run(&db, s, "UPDATE CUSTOMER SET NAME = N'z' WHERE ID = 2");
    run(&db, s, "ROLLBACK TRANSACTION");
    assert_eq!(rows(&db, s, "SELECT COUNT(*) FROM EVENT_QUEUE"), ["2"]);
}

/// The first word of a batch is found past blanks and comments.
#[test]
fn first_words() {
    assert_eq!(first_word("  -- x\n/* y */ update t"), "update");
    assert_eq!(first_word("UPDATE[t]"), "UPDATE");
    assert_eq!(first_word(""), "");
}
