package io.pgveil.policy.analysis;

import io.pgveil.policy.lexer.Token;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Analyses the statements JSqlParser has no (or no reliable) grammar for, from their tokens: COPY, DO, SET,
 * SHOW, RESET, transaction control, PREPARE/EXECUTE/DEALLOCATE, DECLARE/FETCH/MOVE/CLOSE, LISTEN/NOTIFY, LOCK,
 * VACUUM/ANALYZE/CLUSTER/REINDEX/CHECKPOINT, LOAD, REFRESH, EXPLAIN, CALL, DISCARD, and all DDL (CREATE, ALTER,
 * DROP, TRUNCATE, COMMENT, GRANT, REVOKE). Queries inside (COPY (query), PREPARE, DECLARE, EXPLAIN, CREATE TABLE
 * AS, CREATE VIEW) are handed back to the full analyzer.
 */
final class LexicalClassifier {
    private static final Set<String> CODE_OBJECTS = Set.of("function", "procedure", "trigger", "rule", "aggregate",
            "operator", "language", "cast", "transform", "event");
    private static final Set<String> ROLE_OBJECTS = Set.of("role", "user", "group", "policy");
    private static final Set<String> ADMIN_OBJECTS = Set.of("extension", "server", "foreign", "publication", "subscription",
            "tablespace", "database", "access", "conversion", "collation", "statistics", "text", "default", "owned");

    /** Analyses a statement found inside another, from its tokens. */
    interface InnerAnalysis {
        StatementAnalysis analyse(List<Token> tokens) throws Unanalysable;
    }

    private final AnalysisContext ctx;
    private final InnerAnalysis analyseInner;

    LexicalClassifier(AnalysisContext ctx, InnerAnalysis analyseInner) {
        this.ctx = ctx;
        this.analyseInner = analyseInner;
    }

    /** The analysis of {@code statement}, or null when it is a query or DML statement for JSqlParser. */
    StatementAnalysis classify(List<Token> statement, String text) throws Unanalysable {
        Tokens t = new Tokens(statement);
        Token first = t.peek();
        if (first == null || first.kind() != Token.Kind.WORD) {
            return null;
        }
        return switch (first.text()) {
            case "copy" -> copy(t, text);
            case "do" -> code(StatementKind.DO, text, "DO block", null);
            case "vacuum", "analyze", "analyse", "cluster", "reindex", "checkpoint" -> maintenance(t, text);
            case "lock" -> lock(t, text);
            case "begin", "start", "commit", "end", "rollback", "abort", "savepoint", "release" ->
                    simple(StatementKind.TRANSACTION, text, first.text());
            case "prepare" -> prepare(t, text);
            case "execute" -> named(StatementKind.EXECUTE, t, text);
            case "deallocate" -> {
                t.next();
                t.accept("prepare");
                Token name = t.next();
                yield simple(StatementKind.DEALLOCATE, text, name == null ? "" : name.text());
            }
            case "declare" -> declare(t, text);
            case "fetch", "move", "close" -> cursor(t, text, first.text());
            case "listen", "unlisten" -> simple(StatementKind.LISTEN, text, first.text());
            case "notify" -> simple(StatementKind.NOTIFY, text, "notify");
            case "set" -> set(t, text);
            case "reset" -> reset(t, text);
            case "show" -> {
                t.next();
                List<String> name = t.qualifiedName();
                yield simple(StatementKind.SHOW, text, name == null ? "" : String.join(".", name));
            }
            case "discard" -> discard(t, text);
            case "load" -> {
                AnalysisBuilder b = new AnalysisBuilder(StatementKind.LOAD, text);
                b.risk(Risk.DANGEROUS, "load");
                b.literalSensitive = true;
                yield b.build();
            }
            case "refresh" -> refresh(t, text);
            case "explain" -> explain(t, text);
            case "call" -> call(t, text);
            case "create" -> create(t, text);
            case "alter" -> alter(t, text);
            case "drop" -> drop(t, text);
            case "truncate" -> truncate(t, text);
            case "grant", "revoke" -> grant(t, text);
            case "comment" -> comment(t, text);
            case "security", "reassign", "import" -> simple(StatementKind.OTHER_ADMIN, text, first.text());
            default -> null;
        };
    }

    private static StatementAnalysis simple(StatementKind kind, String text, String detail) throws Unanalysable {
        AnalysisBuilder b = new AnalysisBuilder(kind, text);
        b.detail = detail;
        return b.build();
    }

    private StatementAnalysis code(StatementKind kind, String text, String what, QualifiedName name) throws Unanalysable {
        AnalysisBuilder b = new AnalysisBuilder(kind, text);
        b.risk(Risk.CODE, what);
        if (kind == StatementKind.DO) {
            b.risk(Risk.DYNAMIC_SQL, "a DO block runs procedural code");
        }
        if (name != null) {
            b.object(name, Access.CREATE, "routine");
        }
        b.literalSensitive = true;
        return b.build();
    }

    private QualifiedName relation(List<String> parts) {
        return ctx.resolveRelation(parts).name();
    }

    private QualifiedName creation(List<String> parts, boolean temporary) {
        if (parts.size() > 1) {
            return new QualifiedName(parts.get(parts.size() - 2), parts.get(parts.size() - 1));
        }
        return new QualifiedName(temporary ? "pg_temp" : ctx.creationSchema(), parts.get(0));
    }

    private String typeOf(QualifiedName name) {
        Catalog.Relation r = ctx.catalog().relation(name.schema(), name.name());
        return r == null ? "table" : r.typeName();
    }

    // ------------------------------------------------------------------ COPY

    private StatementAnalysis copy(Tokens t, String text) throws Unanalysable {
        t.next();
        AnalysisBuilder b;
        if (t.peek() != null && t.peek().text().equals("(")) {
            List<Token> query = t.parenthesised();
            StatementAnalysis inner = analyseInner.analyse(query);
            b = new AnalysisBuilder(StatementKind.COPY_TO, text);
            b.absorb(inner);
            b.output = new ArrayList<>(inner.output());
            if (!t.accept("to")) {
                return unclassifiable(text, "COPY (query) must be followed by TO");
            }
        } else {
            List<String> name = t.qualifiedName();
            if (name == null) {
                return unclassifiable(text, "COPY without a table");
            }
            QualifiedName table = relation(name);
            List<String> columns = new ArrayList<>();
            if (t.peek() != null && t.peek().text().equals("(")) {
                for (Token c : t.parenthesised()) {
                    if (c.isIdentifier()) {
                        columns.add(c.text());
                    }
                }
            }
            boolean from = t.accept("from");
            if (!from && !t.accept("to")) {
                return unclassifiable(text, "COPY must say FROM or TO");
            }
            b = new AnalysisBuilder(from ? StatementKind.COPY_FROM : StatementKind.COPY_TO, text);
            b.object(table, from ? Access.WRITE : Access.READ, typeOf(table));
            if (columns.isEmpty()) {
                Catalog.Relation r = ctx.catalog().relation(table.schema(), table.name());
                if (r != null) {
                    columns.addAll(r.columns());
                } else {
                    columns.add("*");
                }
            }
            List<OutputColumn> out = new ArrayList<>();
            for (String c : columns) {
                ColumnRef ref = new ColumnRef(table, c);
                b.column(ref, from ? Usage.INSERT : Usage.OUTPUT);
                out.add(new OutputColumn(c, Set.of(ref), true));
            }
            if (!from) {
                b.output = out;
            }
        }
        Token target = t.next();
        b.literalSensitive = true;
        if (target == null) {
            return unclassifiable(text, "COPY without a source or destination");
        }
        if (target.is("program")) {
            b.risk(Risk.DANGEROUS, "copy_program");
            b.detail = "program";
        } else if (target.kind() == Token.Kind.STRING) {
            b.risk(Risk.DANGEROUS, "copy_file");
            b.detail = "file";
        } else {
            b.detail = target.text();
        }
        return b.build();
    }

    private static StatementAnalysis unclassifiable(String text, String why) throws Unanalysable {
        throw new Unanalysable("pgveil cannot analyse this statement: " + why);
    }

    // ------------------------------------------------------------------ maintenance, locks

    private StatementAnalysis maintenance(Tokens t, String text) throws Unanalysable {
        t.next();
        AnalysisBuilder b = new AnalysisBuilder(StatementKind.MAINTENANCE, text);
        b.detail = t.all().get(0).text();
        while (!t.done()) {
            if (t.peek().text().equals("(")) {
                t.skipParenthesised();
                continue;
            }
            List<String> name = t.qualifiedName();
            if (name != null && !Set.of("full", "freeze", "verbose", "analyze", "analyse", "index", "table", "system",
                    "schema", "database", "concurrently").contains(name.get(0))) {
                QualifiedName table = relation(name);
                b.object(table, Access.WRITE, typeOf(table));
            } else if (name == null) {
                t.next();
            }
        }
        return b.build();
    }

    private StatementAnalysis lock(Tokens t, String text) throws Unanalysable {
        t.next();
        t.accept("table");
        AnalysisBuilder b = new AnalysisBuilder(StatementKind.LOCK, text);
        while (!t.done() && !t.peek().is("in") && !t.peek().is("nowait")) {
            t.accept("only");
            List<String> name = t.qualifiedName();
            if (name != null) {
                QualifiedName table = relation(name);
                b.object(table, Access.LOCK, typeOf(table));
            } else {
                t.next();
            }
        }
        // The lock mode: IN <mode> MODE, ACCESS EXCLUSIVE when none is given (as PostgreSQL).
        StringBuilder mode = new StringBuilder();
        if (t.accept("in")) {
            while (!t.done() && !t.peek().is("mode")) {
                mode.append(mode.length() == 0 ? "" : " ").append(t.next().text());
            }
        }
        b.detail = mode.length() == 0 ? "access exclusive" : mode.toString();
        return b.build();
    }

    // ------------------------------------------------------------------ prepared statements and cursors

    private StatementAnalysis prepare(Tokens t, String text) throws Unanalysable {
        t.next();
        if (t.accept("transaction")) {
            return simple(StatementKind.TRANSACTION, text, "prepare transaction");
        }
        Token name = t.next();
        if (t.peek() != null && t.peek().text().equals("(")) {
            t.skipParenthesised();
        }
        if (name == null || !t.accept("as")) {
            return unclassifiable(text, "PREPARE without AS");
        }
        AnalysisBuilder b = new AnalysisBuilder(StatementKind.PREPARE, text);
        b.detail = name.text();
        StatementAnalysis inner = analyseInner.analyse(t.rest());
        b.absorb(inner);
        b.output = new ArrayList<>(inner.output());
        b.literalSensitive = true;
        return b.build();
    }

    private StatementAnalysis named(StatementKind kind, Tokens t, String text) throws Unanalysable {
        t.next();
        Token name = t.next();
        AnalysisBuilder b = new AnalysisBuilder(kind, text);
        b.detail = name == null ? "" : name.text();
        b.literalSensitive = true;
        return b.build();
    }

    /** FETCH / MOVE [direction [count]] [FROM | IN] cursor, CLOSE cursor | ALL: the cursor is the last word. */
    private static StatementAnalysis cursor(Tokens t, String text, String verb) throws Unanalysable {
        Token last = null;
        for (Token x = t.next(); x != null; x = t.next()) {
            last = x;
        }
        AnalysisBuilder b = new AnalysisBuilder(StatementKind.CURSOR, text);
        b.detail = verb;
        boolean all = verb.equals("close") && last != null && last.is("all");
        b.cursor = last == null || all ? null : last.text();
        return b.build();
    }

    private StatementAnalysis declare(Tokens t, String text) throws Unanalysable {
        t.next();
        Token name = t.next();
        int forAt = t.findTopLevel("for");
        if (name == null || forAt < 0) {
            return unclassifiable(text, "DECLARE without FOR");
        }
        boolean hold = false;
        while (t.position() < forAt) {
            if (!t.accept("with", "hold")) {
                t.next();
            } else {
                hold = true;
            }
        }
        t.seek(forAt + 1);
        AnalysisBuilder b = new AnalysisBuilder(StatementKind.DECLARE, text);
        b.detail = name.text();
        if (hold) {
            b.risk(Risk.HOLD_CURSOR, "a WITH HOLD cursor stays open after its transaction");
        }
        StatementAnalysis inner = analyseInner.analyse(t.rest());
        b.absorb(inner);
        b.output = new ArrayList<>(inner.output());
        return b.build();
    }

    // ------------------------------------------------------------------ settings

    private StatementAnalysis set(Tokens t, String text) throws Unanalysable {
        t.next();
        boolean local = false;
        if (!t.accept("session", "authorization")) {
            t.accept("session");
            local = t.accept("local");
        } else {
            return identity(StatementKind.SET, text, "session_authorization");
        }
        if (t.accept("session", "authorization")) {
            return identity(StatementKind.SET, text, "session_authorization");
        }
        if (t.accept("role")) {
            return identity(StatementKind.SET, text, "role");
        }
        if (t.accept("time", "zone")) {
            return simple(StatementKind.SET, text, "timezone");
        }
        if (t.peek() != null && (t.peek().is("transaction") || t.peek().is("constraints"))) {
            return simple(StatementKind.SET, text, t.peek().text());
        }
        List<String> name = t.qualifiedName();
        if (name == null) {
            return unclassifiable(text, "SET without a setting");
        }
        String setting = String.join(".", name).toLowerCase(Locale.ROOT);
        if (KnownFunctions.identitySetting(setting)) {
            return identity(StatementKind.SET, text, setting);
        }
        AnalysisBuilder b = new AnalysisBuilder(StatementKind.SET, text);
        if (!t.accept("to")) {
            t.acceptPunctuation("=");
        }
        List<String> values = new ArrayList<>();
        while (!t.done()) {
            Token v = t.next();
            if (v.kind() != Token.Kind.PUNCTUATION) {
                values.add(v.text());
            }
        }
        // SET LOCAL lasts until the end of the transaction: "local " says so.
        b.detail = (local ? "local " : "") + setting + "=" + String.join(",", values);
        if (setting.equals("search_path")) {
            b.risk(Risk.SEARCH_PATH_CHANGE, "search_path set to " + String.join(", ", values));
        }
        b.literalSensitive = true;
        return b.build();
    }

    /** RESET ALL, DISCARD ALL: the session's settings (search_path included) back to their defaults. */
    private static StatementAnalysis sessionReset(StatementKind kind, String text) throws Unanalysable {
        AnalysisBuilder b = new AnalysisBuilder(kind, text);
        b.detail = "all";
        b.risk(Risk.SESSION_RESET, (kind == StatementKind.RESET ? "RESET ALL" : "DISCARD ALL")
                + " resets every setting; pgveil sets the session's role and identity again at once");
        b.risk(Risk.SEARCH_PATH_CHANGE, "search_path reset");
        return b.build();
    }

    private static StatementAnalysis identity(StatementKind kind, String text, String setting) throws Unanalysable {
        AnalysisBuilder b = new AnalysisBuilder(kind, text);
        b.detail = setting;
        b.risk(Risk.IDENTITY_CHANGE, (kind == StatementKind.SET ? "SET " : "RESET ") + setting);
        b.literalSensitive = true;
        return b.build();
    }

    private StatementAnalysis reset(Tokens t, String text) throws Unanalysable {
        t.next();
        if (t.accept("session", "authorization")) {
            return identity(StatementKind.RESET, text, "session_authorization");
        }
        if (t.accept("role")) {
            return identity(StatementKind.RESET, text, "role");
        }
        if (t.accept("all")) {
            return sessionReset(StatementKind.RESET, text);
        }
        List<String> name = t.qualifiedName();
        String setting = name == null ? "" : String.join(".", name).toLowerCase(Locale.ROOT);
        if (KnownFunctions.identitySetting(setting)) {
            return identity(StatementKind.RESET, text, setting);
        }
        AnalysisBuilder b = new AnalysisBuilder(StatementKind.RESET, text);
        b.detail = setting;
        if (setting.equals("search_path")) {
            b.risk(Risk.SEARCH_PATH_CHANGE, "search_path reset");
        }
        return b.build();
    }

    private StatementAnalysis discard(Tokens t, String text) throws Unanalysable {
        t.next();
        if (t.accept("all")) {
            return sessionReset(StatementKind.DISCARD, text);
        }
        Token what = t.next();
        return simple(StatementKind.DISCARD, text, what == null ? "" : what.text());
    }

    // ------------------------------------------------------------------ EXPLAIN, CALL, REFRESH

    private StatementAnalysis explain(Tokens t, String text) throws Unanalysable {
        t.next();
        boolean analyze = false;
        if (t.peek() != null && t.peek().text().equals("(")) {
            List<Token> options = t.parenthesised();
            for (int k = 0; k < options.size(); k++) {
                if (options.get(k).is("analyze") || options.get(k).is("analyse")) {
                    Token value = k + 1 < options.size() ? options.get(k + 1) : null;
                    analyze = value == null || !(value.is("false") || value.is("off") || value.text().equals("0"));
                }
            }
        }
        while (t.peek() != null && (t.peek().is("analyze") || t.peek().is("analyse") || t.peek().is("verbose"))) {
            analyze |= !t.next().is("verbose");
        }
        AnalysisBuilder b = new AnalysisBuilder(StatementKind.EXPLAIN, text);
        StatementAnalysis inner = analyseInner.analyse(t.rest());
        b.absorb(inner);
        b.detail = analyze ? "analyze" : "plan";
        return b.build();
    }

    private StatementAnalysis call(Tokens t, String text) throws Unanalysable {
        t.next();
        List<String> name = t.qualifiedName();
        AnalysisBuilder b = new AnalysisBuilder(StatementKind.CALL, text);
        if (name != null) {
            QualifiedName proc = ctx.resolveFunction(name);
            b.functions.add(proc);
            b.object(proc, Access.WRITE, "procedure");
            b.risk(Risk.VOLATILE_FUNCTION, "procedure " + proc);
        }
        b.literalSensitive = true;
        return b.build();
    }

    private StatementAnalysis refresh(Tokens t, String text) throws Unanalysable {
        t.next();
        t.accept("materialized", "view");
        t.accept("concurrently");
        List<String> name = t.qualifiedName();
        AnalysisBuilder b = new AnalysisBuilder(StatementKind.REFRESH, text);
        if (name != null) {
            QualifiedName view = relation(name);
            b.object(view, Access.WRITE, "materialized view");
        }
        return b.build();
    }

    // ------------------------------------------------------------------ DDL

    private StatementAnalysis create(Tokens t, String text) throws Unanalysable {
        t.next();
        t.accept("or", "replace");
        boolean temporary = false;
        while (t.peek() != null && Set.of("temp", "temporary", "unlogged", "global", "local", "constraint", "trusted",
                "procedural", "recursive", "unique").contains(t.peek().text()) && t.peek().kind() == Token.Kind.WORD) {
            temporary |= t.peek().is("temp") || t.peek().is("temporary");
            t.next();
        }
        Token what = t.peek();
        if (what == null) {
            return unclassifiable(text, "CREATE of nothing");
        }
        String type = what.text();
        if (CODE_OBJECTS.contains(type)) {
            t.next();
            t.accept("trigger");
            List<String> name = t.qualifiedName();
            return code(StatementKind.CODE, text, "CREATE " + type.toUpperCase(Locale.ROOT),
                    name == null ? null : creation(name, false));
        }
        if (ROLE_OBJECTS.contains(type) || ADMIN_OBJECTS.contains(type)) {
            return simple(ROLE_OBJECTS.contains(type) ? StatementKind.ROLE : StatementKind.OTHER_ADMIN, text, "create " + type);
        }
        AnalysisBuilder b = new AnalysisBuilder(StatementKind.CREATE, text);
        t.next();
        if (type.equals("materialized")) {
            t.accept("view");
            type = "materialized view";
        }
        if (type.equals("index")) {
            t.accept("concurrently");
            t.accept("if", "not", "exists");
            List<String> indexName = t.peek() != null && !t.peek().is("on") ? t.qualifiedName() : null;
            int on = t.findTopLevel("on");
            if (on >= 0) {
                t.seek(on + 1);
                t.accept("only");
                List<String> tableName = t.qualifiedName();
                if (tableName != null) {
                    QualifiedName table = relation(tableName);
                    b.object(table, Access.READ, typeOf(table));
                    if (indexName != null) {
                        b.object(new QualifiedName(table.schema(), indexName.get(indexName.size() - 1)), Access.CREATE, "index");
                    }
                }
            }
            return b.build();
        }
        t.accept("if", "not", "exists");
        List<String> name = t.qualifiedName();
        if (name == null) {
            return unclassifiable(text, "CREATE " + type + " without a name");
        }
        QualifiedName created = type.equals("schema") ? new QualifiedName(null, name.get(0)) : creation(name, temporary);
        b.object(created, Access.CREATE, type);
        int as = t.findTopLevel("as");
        if ((type.equals("table") || type.equals("view") || type.equals("materialized view")) && as >= 0) {
            t.seek(as + 1);
            StatementAnalysis inner = analyseInner.analyse(t.rest());
            b.absorb(inner);
        }
        return b.build();
    }

    private StatementAnalysis alter(Tokens t, String text) throws Unanalysable {
        t.next();
        Token what = t.peek();
        if (what == null) {
            return unclassifiable(text, "ALTER of nothing");
        }
        if (what.is("system")) {
            AnalysisBuilder b = new AnalysisBuilder(StatementKind.ALTER_SYSTEM, text);
            b.risk(Risk.DANGEROUS, "alter_system");
            return b.build();
        }
        String type = what.text();
        if (CODE_OBJECTS.contains(type)) {
            return code(StatementKind.CODE, text, "ALTER " + type.toUpperCase(Locale.ROOT), null);
        }
        if (ROLE_OBJECTS.contains(type) || ADMIN_OBJECTS.contains(type)) {
            return simple(ROLE_OBJECTS.contains(type) ? StatementKind.ROLE : StatementKind.OTHER_ADMIN, text, "alter " + type);
        }
        t.next();
        if (type.equals("materialized")) {
            t.accept("view");
            type = "materialized view";
        }
        t.accept("if", "exists");
        t.accept("only");
        List<String> name = t.qualifiedName();
        AnalysisBuilder b = new AnalysisBuilder(StatementKind.ALTER, text);
        if (name != null) {
            QualifiedName target = type.equals("schema") ? new QualifiedName(null, name.get(0)) : relation(name);
            b.object(target, Access.ALTER, type);
        }
        return b.build();
    }

    private StatementAnalysis drop(Tokens t, String text) throws Unanalysable {
        t.next();
        Token what = t.peek();
        if (what == null) {
            return unclassifiable(text, "DROP of nothing");
        }
        String type = what.text();
        if (ROLE_OBJECTS.contains(type) || ADMIN_OBJECTS.contains(type)) {
            return simple(ROLE_OBJECTS.contains(type) ? StatementKind.ROLE : StatementKind.OTHER_ADMIN, text, "drop " + type);
        }
        t.next();
        if (type.equals("materialized")) {
            t.accept("view");
            type = "materialized view";
        }
        t.accept("trigger");
        t.accept("concurrently");
        t.accept("if", "exists");
        AnalysisBuilder b = new AnalysisBuilder(CODE_OBJECTS.contains(type) ? StatementKind.CODE : StatementKind.DROP, text);
        while (!t.done()) {
            List<String> name = t.qualifiedName();
            if (name == null) {
                t.next();
                continue;
            }
            if (name.size() == 1 && Set.of("cascade", "restrict", "on").contains(name.get(0))) {
                break;
            }
            QualifiedName dropped = type.equals("schema") ? new QualifiedName(null, name.get(0))
                    : CODE_OBJECTS.contains(type) ? ctx.resolveFunction(name) : relation(name);
            b.object(dropped, Access.DROP, type);
            if (t.peek() != null && t.peek().text().equals("(")) {
                t.skipParenthesised();
            }
            t.acceptPunctuation(",");
        }
        return b.build();
    }

    private StatementAnalysis truncate(Tokens t, String text) throws Unanalysable {
        t.next();
        t.accept("table");
        AnalysisBuilder b = new AnalysisBuilder(StatementKind.TRUNCATE, text);
        while (!t.done()) {
            t.accept("only");
            List<String> name = t.qualifiedName();
            if (name == null) {
                t.next();
                continue;
            }
            if (name.size() == 1 && Set.of("restart", "continue", "cascade", "restrict").contains(name.get(0))) {
                break;
            }
            QualifiedName table = relation(name);
            b.object(table, Access.TRUNCATE, typeOf(table));
            t.acceptPunctuation("*");
            t.acceptPunctuation(",");
        }
        return b.build();
    }

    private StatementAnalysis grant(Tokens t, String text) throws Unanalysable {
        AnalysisBuilder b = new AnalysisBuilder(StatementKind.GRANT, text);
        int on = t.findTopLevel("on");
        if (on >= 0) {
            t.seek(on + 1);
            t.accept("table");
            t.accept("all", "tables", "in", "schema");
            List<String> name = t.qualifiedName();
            if (name != null && !name.get(0).equals("schema") && !name.get(0).equals("function")) {
                QualifiedName target = relation(name);
                b.object(target, Access.ALTER, typeOf(target));
            }
        }
        b.detail = t.all().get(0).text();
        return b.build();
    }

    private StatementAnalysis comment(Tokens t, String text) throws Unanalysable {
        t.next();
        t.accept("on");
        Token type = t.next();
        AnalysisBuilder b = new AnalysisBuilder(StatementKind.COMMENT, text);
        if (type != null && (type.is("table") || type.is("view") || type.is("column"))) {
            List<String> name = t.qualifiedName();
            if (name != null) {
                List<String> rel = type.is("column") && name.size() > 1 ? name.subList(0, name.size() - 1) : name;
                QualifiedName target = relation(rel);
                b.object(target, Access.ALTER, typeOf(target));
            }
        }
        return b.build();
    }
}
