package io.pgveil.policy.lexer;

/** SQL the lexer cannot split safely: an unterminated string, quoted identifier, comment or dollar quote. */
public final class SqlSyntaxException extends Exception {
    private final int position;

    public SqlSyntaxException(String message, int position) {
        super(message + " at offset " + position, null, false, false);
        this.position = position;
    }

    public int position() {
        return position;
    }
}
