package io.pgveil.policy.analysis;

import io.pgveil.config.PolicyConfig.StatementClass;

/** What kind of statement it is, and the class rules grant it under (null: session or transaction control). */
public enum StatementKind {
    SELECT(StatementClass.READ), VALUES(StatementClass.READ), SHOW(null), EXPLAIN(StatementClass.READ),
    INSERT(StatementClass.WRITE), UPDATE(StatementClass.WRITE), DELETE(StatementClass.WRITE), MERGE(StatementClass.WRITE),
    COPY_FROM(StatementClass.WRITE), COPY_TO(StatementClass.READ), LOCK(StatementClass.WRITE), CALL(StatementClass.WRITE),
    REFRESH(StatementClass.WRITE),
    CREATE(StatementClass.DDL), ALTER(StatementClass.DDL), DROP(StatementClass.DDL), TRUNCATE(StatementClass.DDL),
    COMMENT(StatementClass.DDL),
    GRANT(StatementClass.ADMIN), ROLE(StatementClass.ADMIN), MAINTENANCE(StatementClass.ADMIN), DO(StatementClass.ADMIN),
    CODE(StatementClass.ADMIN), ALTER_SYSTEM(StatementClass.ADMIN), LOAD(StatementClass.ADMIN), OTHER_ADMIN(StatementClass.ADMIN),
    SET(null), RESET(null), TRANSACTION(null), LISTEN(null), NOTIFY(null), PREPARE(null), EXECUTE(null),
    DEALLOCATE(null), DECLARE(null), CURSOR(null), DISCARD(null), EMPTY(null);

    private final StatementClass statementClass;

    StatementKind(StatementClass statementClass) {
        this.statementClass = statementClass;
    }

    /** The class a rule must allow; null for session and transaction control, which need no rule. */
    public StatementClass statementClass() {
        return statementClass;
    }
}
