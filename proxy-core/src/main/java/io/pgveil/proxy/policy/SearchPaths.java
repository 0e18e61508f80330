package io.pgveil.proxy.policy;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Reads a search_path setting's text ({@code "$user", public, "My Schema"}) into its schema names. */
public final class SearchPaths {
    private SearchPaths() {
    }

    /** The schema names, unquoted; unquoted names are lower-cased as PostgreSQL folds them. */
    public static List<String> parse(String setting) {
        List<String> out = new ArrayList<>();
        int i = 0;
        int n = setting.length();
        while (i < n) {
            char c = setting.charAt(i);
            if (c == ',' || io.pgveil.policy.lexer.SqlLexer.isSpace(c)) {
                i++;
            } else if (c == '"') {
                StringBuilder sb = new StringBuilder();
                i++;
                while (i < n) {
                    char d = setting.charAt(i++);
                    if (d == '"') {
                        if (i < n && setting.charAt(i) == '"') {
                            sb.append('"');
                            i++;
                        } else {
                            break;
                        }
                    } else {
                        sb.append(d);
                    }
                }
                out.add(sb.toString());
            } else {
                int start = i;
                while (i < n && setting.charAt(i) != ',' && !io.pgveil.policy.lexer.SqlLexer.isSpace(setting.charAt(i))) {
                    i++;
                }
                String name = setting.substring(start, i);
                if (name.startsWith("'") && name.endsWith("'") && name.length() >= 2) {
                    name = name.substring(1, name.length() - 1);
                }
                out.add(name.toLowerCase(Locale.ROOT));
            }
        }
        return out;
    }
}
