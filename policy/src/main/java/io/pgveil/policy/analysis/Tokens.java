package io.pgveil.policy.analysis;

import io.pgveil.policy.lexer.Token;
import java.util.ArrayList;
import java.util.List;

/** A cursor over one statement's tokens, with the small parsing steps the lexical classifier needs. */
final class Tokens {
    private final List<Token> tokens;
    private int at;

    Tokens(List<Token> tokens) {
        this.tokens = tokens;
    }

    boolean done() {
        return at >= tokens.size();
    }

    Token peek() {
        return at < tokens.size() ? tokens.get(at) : null;
    }

    Token peek(int ahead) {
        return at + ahead < tokens.size() ? tokens.get(at + ahead) : null;
    }

    Token next() {
        return at < tokens.size() ? tokens.get(at++) : null;
    }

    int position() {
        return at;
    }

    void seek(int position) {
        at = position;
    }

    /** Consumes the word if it is next. */
    boolean accept(String word) {
        Token t = peek();
        if (t != null && t.is(word)) {
            at++;
            return true;
        }
        return false;
    }

    /** Consumes the words if they are next, in this order. */
    boolean accept(String... words) {
        for (int k = 0; k < words.length; k++) {
            Token t = peek(k);
            if (t == null || !t.is(words[k])) {
                return false;
            }
        }
        at += words.length;
        return true;
    }

    boolean acceptPunctuation(String p) {
        Token t = peek();
        if (t != null && (t.kind() == Token.Kind.PUNCTUATION || t.kind() == Token.Kind.OPERATOR) && t.text().equals(p)) {
            at++;
            return true;
        }
        return false;
    }

    /** A possibly dotted name (identifier, quoted or not), or null when none is next. */
    List<String> qualifiedName() {
        Token t = peek();
        if (t == null || !t.isIdentifier()) {
            return null;
        }
        List<String> parts = new ArrayList<>();
        parts.add(next().text());
        while (peek() != null && peek().text().equals(".") && peek().kind() == Token.Kind.PUNCTUATION
                && peek(1) != null && peek(1).isIdentifier()) {
            at++;
            parts.add(next().text());
        }
        return parts;
    }

    /** Skips a parenthesised group starting at the current '(' (nested groups included). */
    void skipParenthesised() {
        if (!acceptPunctuation("(")) {
            return;
        }
        int depth = 1;
        while (!done() && depth > 0) {
            Token t = next();
            if (t.kind() == Token.Kind.PUNCTUATION && t.text().equals("(")) {
                depth++;
            } else if (t.kind() == Token.Kind.PUNCTUATION && t.text().equals(")")) {
                depth--;
            }
        }
    }

    /** The tokens of a parenthesised group starting at the current '(', without the parentheses. */
    List<Token> parenthesised() {
        int start = at + 1;
        skipParenthesised();
        return tokens.subList(start, Math.max(start, at - 1));
    }

    List<Token> rest() {
        return tokens.subList(at, tokens.size());
    }

    /** Index of the first top-level (not parenthesised) word {@code word} from here, or -1. */
    int findTopLevel(String word) {
        int depth = 0;
        for (int k = at; k < tokens.size(); k++) {
            Token t = tokens.get(k);
            if (t.kind() == Token.Kind.PUNCTUATION && t.text().equals("(")) {
                depth++;
            } else if (t.kind() == Token.Kind.PUNCTUATION && t.text().equals(")")) {
                depth--;
            } else if (depth == 0 && t.is(word)) {
                return k;
            }
        }
        return -1;
    }

    List<Token> all() {
        return tokens;
    }
}
