package io.pgveil.proxy.pgwire;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/**
 * A client message read in place, for what pgveil decides on: a Query's SQL; a Parse's statement name and SQL; a
 * Bind's portal and statement names and result format codes; an Execute's portal and row limit; a Close's or
 * Describe's target and name; a FunctionCall's function OID. Only names and SQL text are decoded. A body that does not
 * hold what its kind requires is not {@link #wellFormed()}, and {@link #malformation()} says how, in PostgreSQL's
 * words. One view can be reused: {@link #read} replaces everything.
 */
public final class ClientMessage {
    private static final short[] NO_FORMATS = {};
    private static final short[] TEXT = {0};
    private static final short[] BINARY = {1};

    private byte type;
    private ByteBuf buf;
    private String malformation;
    private String name;
    private String statement;
    private String sql;
    private int sqlFrom;
    private int sqlTo;
    private int maxRows;
    private int functionOid;
    private byte target;
    private short[] resultFormats;
    /** Whether only the head of the message was kept (its rest skipped: see {@link PgMessage#truncated()}). */
    private boolean truncated;
    private long declaredLength;
    /** Bind: where the parameter count is, and how many parameters follow it. */
    private int parametersAt;
    private int parameterCount;

    /** Reads the message {@code buf[index, index + length)} (type byte included). */
    public ClientMessage read(byte messageType, ByteBuf buffer, int index, int length) {
        type = messageType;
        buf = buffer;
        malformation = null;
        truncated = false;
        name = "";
        statement = "";
        sql = null;
        maxRows = 0;
        resultFormats = NO_FORMATS;
        parameterCount = 0;
        int body = index + 5;
        int end = index + length;
        switch (messageType) {
            case FrontendMessages.QUERY -> {
                int nul = buffer.indexOf(body, end, (byte) 0);
                if (nul < 0) {
                    malformation = "invalid string in message";
                } else if (nul != end - 1) {
                    malformation = "invalid message format";
                } else {
                    text(body, nul);
                }
            }
            case FrontendMessages.PARSE -> {
                int nameEnd = buffer.indexOf(body, end, (byte) 0);
                int sqlEnd = nameEnd < 0 ? -1 : buffer.indexOf(nameEnd + 1, end, (byte) 0);
                if (sqlEnd < 0) {
                    malformation = "invalid string in message";
                } else if (sqlEnd + 3 > end || sqlEnd + 3 + 4 * buffer.getUnsignedShort(sqlEnd + 1) != end) {
                    malformation = "invalid message format";
                } else {
                    name = name(body, nameEnd);
                    text(nameEnd + 1, sqlEnd);
                }
            }
            case FrontendMessages.BIND -> {
                int portalEnd = buffer.indexOf(body, end, (byte) 0);
                int statementEnd = portalEnd < 0 ? -1 : buffer.indexOf(portalEnd + 1, end, (byte) 0);
                short[] formats = statementEnd < 0 ? null : resultFormats(statementEnd + 1, end);
                if (statementEnd < 0) {
                    malformation = "invalid string in message";
                } else if (formats == null) {
                    malformation = "invalid message format";
                } else {
                    name = name(body, portalEnd);
                    statement = name(portalEnd + 1, statementEnd);
                    resultFormats = formats;
                }
            }
            case FrontendMessages.EXECUTE -> {
                int portalEnd = buffer.indexOf(body, end, (byte) 0);
                if (portalEnd < 0) {
                    malformation = "invalid string in message";
                } else if (portalEnd + 5 != end) {
                    malformation = "invalid message format";
                } else {
                    name = name(body, portalEnd);
                    maxRows = buffer.getInt(portalEnd + 1);
                }
            }
            case FrontendMessages.FUNCTION_CALL -> {
                if (length < 9) {
                    malformation = "invalid message format";
                } else {
                    functionOid = buffer.getInt(body);
                }
            }
            case FrontendMessages.CLOSE, FrontendMessages.DESCRIBE -> {
                // The server checks these; pgveil only needs the name to forget what a Close closes.
                int nul = length > 6 ? buffer.indexOf(body + 1, end, (byte) 0) : -1;
                target = length > 5 ? buffer.getByte(body) : 0;
                name = nul < 0 ? null : name(body + 1, nul);
            }
            default -> {
            }
        }
        return this;
    }

    /**
     * Reads the head {@code buf[index, index + length)} of a message whose rest was skipped: only the names a Parse
     * or a Bind starts with, when the head holds them whole. Such a message is not {@link #wellFormed()}; it is
     * {@link #truncated()}.
     */
    public ClientMessage readHead(byte messageType, ByteBuf buffer, int index, int length) {
        read((byte) 0, buffer, index, length); // a type with nothing to read: every field reset
        type = messageType;
        truncated = true;
        declaredLength = Integer.toUnsignedLong(buffer.getInt(index + 1)) + 1;
        malformation = "a message of " + declaredLength + " bytes, more than limits.message_memory had free";
        int body = index + 5;
        int end = index + length;
        int first = buffer.indexOf(body, end, (byte) 0);
        if (messageType == FrontendMessages.PARSE && first >= 0) {
            name = name(body, first);
        } else if (messageType == FrontendMessages.BIND && first >= 0) {
            int second = buffer.indexOf(first + 1, end, (byte) 0);
            name = name(body, first);
            statement = second < 0 ? "" : name(first + 1, second);
        }
        return this;
    }

    public byte type() {
        return type;
    }

    /** Whether this is only the head of a message whose rest was skipped, to be refused. */
    public boolean truncated() {
        return truncated;
    }

    /** A truncated message: its whole length, type byte included, as its length field gives it. */
    public long declaredLength() {
        return declaredLength;
    }

    public boolean wellFormed() {
        return malformation == null;
    }

    /** How the message is malformed ("invalid string in message", "invalid message format"), or null. */
    public String malformation() {
        return malformation;
    }

    /** Parse: the statement; Bind, Execute: the portal; Close, Describe: the target's name (null if unreadable). */
    public String name() {
        return name;
    }

    /** Bind: the statement bound. */
    public String statement() {
        return statement;
    }

    /** Query, Parse: the SQL text, decoded when first asked for (null for other messages). */
    public String sql() {
        if (sql == null && (type == FrontendMessages.QUERY || type == FrontendMessages.PARSE) && malformation == null) {
            sql = buf.toString(sqlFrom, sqlTo - sqlFrom, StandardCharsets.UTF_8);
        }
        return sql;
    }

    /** Whether the SQL text is decoded already. */
    public boolean decoded() {
        return sql != null;
    }

    /** Hands over the SQL text of this very message, decoded elsewhere (on a worker, for a long text). */
    public ClientMessage decodedAs(String text) {
        sql = text;
        return this;
    }

    /** Where the SQL text's bytes are in {@link #buffer()}: {@code [sqlFrom, sqlTo)}. */
    public int sqlFrom() {
        return sqlFrom;
    }

    public int sqlTo() {
        return sqlTo;
    }

    public ByteBuf buffer() {
        return buf;
    }

    /** Execute: the row limit, 0 for all rows. */
    public int maxRows() {
        return maxRows;
    }

    /** Bind: the result format codes (none: all text; one: for every column; else one per column). */
    public short[] resultFormats() {
        return resultFormats;
    }

    /** Bind: how many parameter values it carries. */
    public int parameterCount() {
        return parameterCount;
    }

    /** Bind: parameter {@code i} (0-based) as text, null for SQL NULL or a missing one. Decodes on each call. */
    public String parameter(int i) {
        if (i < 0 || i >= parameterCount) {
            return null;
        }
        int at = parametersAt + 2;
        for (int k = 0; k < i; k++) {
            at += 4 + Math.max(0, buf.getInt(at));
        }
        int length = buf.getInt(at);
        return length < 0 ? null : buf.toString(at + 4, length, StandardCharsets.UTF_8);
    }

    /** FunctionCall: the function's OID. */
    public int functionOid() {
        return functionOid;
    }

    /** Close, Describe: {@link FrontendMessages#TARGET_STATEMENT} or {@link FrontendMessages#TARGET_PORTAL}. */
    public byte target() {
        return target;
    }

    private void text(int from, int nul) {
        sqlFrom = from;
        sqlTo = nul;
    }

    /** The name in {@code buf[from, nul)}; the unnamed one without decoding anything. */
    private String name(int from, int nul) {
        return nul == from ? "" : buf.toString(from, nul - from, StandardCharsets.UTF_8);
    }

    /** Bind's result format codes; {@code from} is where its parameter format count starts. Null if malformed. */
    private short[] resultFormats(int from, int end) {
        if (from + 2 > end) {
            return null;
        }
        int at = from + 2 + 2 * buf.getUnsignedShort(from);
        if (at + 2 > end) {
            return null;
        }
        int params = buf.getUnsignedShort(at);
        parametersAt = at;
        parameterCount = params;
        at += 2;
        for (int i = 0; i < params; i++) {
            if (at + 4 > end) {
                return null;
            }
            at += 4 + Math.max(0, buf.getInt(at));
        }
        if (at + 2 > end) {
            return null;
        }
        int n = buf.getUnsignedShort(at);
        at += 2;
        if (at + 2 * n != end) {
            return null;
        }
        if (n == 0) {
            return NO_FORMATS;
        }
        if (n == 1) {
            return buf.getShort(at) == 1 ? BINARY : TEXT;
        }
        short[] codes = new short[n];
        for (int i = 0; i < n; i++) {
            codes[i] = buf.getShort(at + 2 * i);
        }
        return codes;
    }
}
