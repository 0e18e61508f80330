package io.pgveil.policy.analysis;

/** Facts about a statement that guardrails and reviewers care about. */
public enum Risk {
    /** UPDATE, DELETE or MERGE with no WHERE (or ON) at all. */
    NO_WHERE,
    /** A WHERE or ON that is always true (or compares constants): {@code WHERE true}, {@code 1=1}, {@code id=id}. */
    VACUOUS_WHERE,
    /** INSERT, UPDATE, DELETE or MERGE inside a WITH clause. */
    DML_IN_CTE,
    /** SELECT ... INTO, which creates a table. */
    SELECT_INTO,
    /** More than one statement in one Query message. */
    MULTIPLE_STATEMENTS,
    /** SQL built or run at run time: DO blocks, EXECUTE, dblink, functions that run SQL text. */
    DYNAMIC_SQL,
    /** A function or statement on the dangerous list (reading server files, killing backends, ...). */
    DANGEROUS,
    /** Changes the session's role or identity settings. */
    IDENTITY_CHANGE,
    /** Code that runs later or elsewhere: CREATE FUNCTION / PROCEDURE / TRIGGER / RULE, DO. */
    CODE,
    /** A function whose effects pgveil cannot see (volatile and not built in). */
    VOLATILE_FUNCTION,
    /** Changes the schema search path. */
    SEARCH_PATH_CHANGE,
    /** DECLARE ... WITH HOLD: a cursor that outlives its transaction (and a policy reload while it is open). */
    HOLD_CURSOR,
    /** RESET ALL or DISCARD ALL: every setting back to its default (the role too, which pgveil sets again at once). */
    SESSION_RESET,
    /** set_config whose setting name is a parameter ($n): which setting it changes is known only when it is bound. */
    SETTING_PARAMETER
}
