package io.pgveil.policy.lexer;

/**
 * One lexical token of SQL as PostgreSQL's lexer sees it.
 *
 * @param kind  what it is
 * @param text  the token's meaning: identifiers case-folded (unquoted) or decoded (quoted, U&amp;"..."),
 *              string literals decoded (escapes, dollar quotes), everything else as written
 * @param start offset of the first character in the source
 * @param end   offset after the last character; for the token before constants that
 *              {@link SqlLexer#tokenizeShortened} skipped without tokens, after the last of them
 */
public record Token(Kind kind, String text, int start, int end) {
    public enum Kind {
        /** A keyword or unquoted identifier, lower-cased. */
        WORD,
        /** A quoted identifier ("..." or U&amp;"..."), decoded, case kept. */
        QUOTED_IDENTIFIER,
        /** A string constant ('...', E'...', U&amp;'...', $tag$...$tag$, B'...', X'...', N'...'), decoded. */
        STRING,
        NUMBER,
        /** A positional parameter, $1. */
        PARAMETER,
        OPERATOR,
        /** ( ) [ ] , . : :: */
        PUNCTUATION,
        SEMICOLON
    }

    /** True for an unquoted word equal to {@code keyword} (given in lower case). */
    public boolean is(String keyword) {
        return kind == Kind.WORD && text.equals(keyword);
    }

    /** True for an identifier, quoted or not. */
    public boolean isIdentifier() {
        return kind == Kind.WORD || kind == Kind.QUOTED_IDENTIFIER;
    }
}
