package io.pgveil.policy.analysis;

/** Where in a statement a column is used. */
public enum Usage {
    OUTPUT, WHERE, JOIN, ORDER_BY, GROUP_BY, HAVING, WINDOW, SET, INSERT, RETURNING, OTHER
}
