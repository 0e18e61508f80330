package io.pgveil.policy.analysis;

/**
 * Where in a statement a column is used. {@code DISTINCT}: compared with other rows for duplicates (SELECT DISTINCT,
 * UNION, INTERSECT, EXCEPT); {@code ROW_COUNT}: what decides how many rows a result has (LIMIT, OFFSET, FETCH, the
 * arguments of a set-returning function).
 */
public enum Usage {
    OUTPUT, WHERE, JOIN, ORDER_BY, GROUP_BY, HAVING, WINDOW, DISTINCT, SET, INSERT, RETURNING, ROW_COUNT, OTHER
}
