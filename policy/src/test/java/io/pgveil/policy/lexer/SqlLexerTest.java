package io.pgveil.policy.lexer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class SqlLexerTest {
    private static List<Token> lex(String sql) throws SqlSyntaxException {
        return SqlLexer.tokenize(sql, true);
    }

    private static String show(List<Token> tokens) {
        return tokens.stream().map(t -> t.kind().name().charAt(0) + ":" + t.text()).collect(Collectors.joining(" "));
    }

    private static int statementCount(String sql) throws SqlSyntaxException {
        return SqlLexer.statements(lex(sql)).size();
    }

    @Test
    void wordsAreCaseFoldedAndQuotedIdentifiersKeepTheirCase() throws Exception {
        assertEquals("W:select Q:MyCol P:, W:x_1$ W:from Q:a\"b", show(lex("SELECT \"MyCol\", X_1$ FrOm \"a\"\"b\"")));
    }

    @Test
    void commonWordsFoldToTheirSharedTextAndOnlyAsciiLettersFold() throws Exception {
        List<Token> t = lex("INSERT InSeRt insert VALUES \u0131nsert SELECTED Select_1 \"SELECT\"");
        assertEquals("W:insert W:insert W:insert W:values W:\u0131nsert W:selected W:select_1 Q:SELECT", show(t));
        assertTrue(t.get(0).text() == t.get(1).text() && t.get(1).text() == t.get(2).text(), "one shared text");
    }

    @Test
    void commentsDisappearIncludingNestedBlockComments() throws Exception {
        assertEquals("W:set W:role", show(lex("/* a /* nested */ still comment */ SET -- trailing\n ROLE")));
    }

    @Test
    void stringsOfEveryKindAreDecoded() throws Exception {
        assertEquals("S:it's", show(lex("'it''s'")));
        assertEquals("S:a\nb\u00e9'", show(lex("E'a\\nb\\u00e9\\''")));
        assertEquals("S:body; with 'quotes'", show(lex("$fn$body; with 'quotes'$fn$")));
        assertEquals("S:x", show(lex("$$x$$")));
        assertEquals("S:d\u00e1ta", show(lex("U&'d\\00e1ta'")));
        assertEquals("S:d\u00e1ta", show(lex("U&'d!00e1ta' UESCAPE '!'")));
    }

    @Test
    void spacesDigitsAndCaseAreAsciiAsInPostgresql() throws Exception {
        // Java calls U+3000 a space and U+0663 a digit, and folds \u00c4; PostgreSQL's lexer does none of that:
        // lower\u3000(x) calls a function named "lower\u3000", and \u00c4pfel names "\u00c4pfel".
        assertEquals("W:select W:lower\u3000 P:( W:x P:)", show(lex("select lower\u3000(x)")));
        assertEquals("W:select N:1 P:, W:\u3000 P:( N:2 P:)", show(lex("select 1,\u3000(2)")));
        assertEquals("W:select W:\u00c4pfel W:from W:t", show(lex("SELECT \u00c4pfel FROM T")));
        assertEquals("W:select W:\u0663", show(lex("select \u0663")));
        assertEquals("W:select N:1 W:\u0663", show(lex("select 1\u0663")), "PostgreSQL: trailing junk after a number");
        assertTrue(lex("select $\u0661").stream().noneMatch(t -> t.kind() == Token.Kind.PARAMETER), "no parameter of non-ASCII digits");
    }

    @Test
    void stringsSeparatedByANewlineAreOneString() throws Exception {
        // PostgreSQL: constants separated only by whitespace holding a newline (and -- comments) are one.
        assertEquals("W:select S:ab", show(lex("select 'a'\n'b'")));
        assertEquals("W:select S:abc", show(lex("select 'a' -- one\n  -- two\n 'b'\r\n\t'c'")));
        assertEquals("W:select S:x\n\t", show(lex("select E'x\\n'\n'\\t'")), "an E'' string goes on with its escapes");
        assertEquals("W:select S:a S:b", show(lex("select 'a' 'b'")), "no newline: two constants");
        assertEquals("W:select S:a S:b", show(lex("select 'a'\n/* c */ 'b'")), "a block comment ends the string");
        assertEquals("S:a", show(lex("'a'\n")));
    }

    @Test
    void unicodeEscapedIdentifiersAreDecoded() throws Exception {
        assertEquals("W:set Q:role", show(lex("SET U&\"\\0072ole\"")));
        assertEquals("Q:role", show(lex("U&\"#0072ole\" UESCAPE '#'")));
    }

    @Test
    void backslashesInPlainStringsDependOnStandardConformingStrings() throws Exception {
        // With standard_conforming_strings on, 'a\' is a complete string and "; select 2" is a second statement.
        assertEquals(2, SqlLexer.statements(SqlLexer.tokenize("select 'a\\'; select 2", true)).size());
        // With it off, \' is an escaped quote and everything up to the final quote is one string.
        assertEquals(1, SqlLexer.statements(SqlLexer.tokenize("select 'a\\'; select 2'", false)).size());
    }

    @Test
    void semicolonsInsideStringsCommentsAndDollarQuotesDoNotSplit() throws Exception {
        assertEquals(1, statementCount("select ';' /* ; */ -- ;\n, $x$;$x$"));
        assertEquals(3, statementCount("select 1; select 2;; select 3;"));
    }

    @Test
    void semicolonsInsideParenthesesOrAtomicBodiesDoNotSplit() throws Exception {
        assertEquals(1, statementCount("create rule r as on insert to t do also (insert into a values (1); insert into b values (2))"));
        assertEquals(2, statementCount("create function f() returns int language sql begin atomic select 1; select 2; end; select 3"));
    }

    @Test
    void parametersNumbersOperatorsAndCasts() throws Exception {
        assertEquals("W:select P:$1 P::: W:int O:+ N:1.5e3 O:<> N:0x1F O:||", show(lex("select $1::int + 1.5e3 <> 0x1F ||")));
        assertEquals("O:- N:1", show(lex("-/* c */1")));
    }

    @Test
    void unterminatedConstructsAreErrors() {
        assertThrows(SqlSyntaxException.class, () -> lex("select 'abc"));
        assertThrows(SqlSyntaxException.class, () -> lex("select \"abc"));
        assertThrows(SqlSyntaxException.class, () -> lex("select $a$ abc $b$"));
        assertThrows(SqlSyntaxException.class, () -> lex("/* /* */"));
        assertThrows(SqlSyntaxException.class, () -> lex("select \"\""));
    }

    @Test
    void theReaderGivesTheStatementsThatTokenizingWholeGives() throws Exception {
        String[] texts = {
            "", ";", " ;; ", "select 1", "select 1;", "select 1; select 2", ";select 1;;select 2;  ",
            "insert into t values (1, 'a'), (2, 'b'), (3, 'c'); select x from t where id in (1, 2, 3); select 4",
            "create rule r as on insert to t do also (insert into a values (1); insert into b values (2)); select 9",
            "create function f() returns int language sql begin atomic select 1; select 2; end; select 3",
            "select ')' ; select $$;$$; select \"a;b\" -- ; x\n; /* ; */ select 5",
            "select (1; select 2",
            "select 1); select 2",
        };
        for (String sql : texts) {
            for (boolean shortened : new boolean[] {false, true}) {
                List<Token> all = shortened ? SqlLexer.tokenizeShortened(sql, true) : lex(sql);
                List<List<Token>> expected = SqlLexer.statements(all);
                SqlLexer.Reader reader = SqlLexer.reader(sql, true, shortened);
                List<List<Token>> read = new java.util.ArrayList<>();
                for (List<Token> st = reader.next(); st != null; st = reader.next()) {
                    read.add(st);
                }
                assertEquals(expected, read, sql + (shortened ? " (shortened)" : ""));
                assertEquals(null, reader.next(), "after the last statement, none: " + sql);
            }
        }
    }

    @Test
    void theReaderLexesAStatementOnlyWhenAskedFor() throws Exception {
        SqlLexer.Reader reader = SqlLexer.reader("select 1; select 'never closed", true, true);
        assertEquals("W:select N:1", show(reader.next()));
        assertThrows(SqlSyntaxException.class, reader::next);
    }
}
