package io.pgveil.masking;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgveil.config.MaskingConfig;
import io.pgveil.config.Secret;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Each masker on its own, and properties over generated values in many scripts. */
class MaskersTest {
    private static final Secret KEY = Secret.of("a masking key for tests");

    private static Masker masker(String name) {
        return Maskers.of(MaskingConfig.Column.of(name), KEY);
    }

    private static Masker column(String name, Integer first, Integer last, String value, String pattern,
                                 String replacement, String unit, Double step) {
        return Maskers.of(new MaskingConfig.Column(name, null, null, first, last, value, pattern, replacement, unit, step), KEY);
    }

    /** Values in several scripts, with surrogate pairs and combining marks, empty ones and long ones. */
    static List<String> values(long seed, int n) {
        Random r = new Random(seed);
        int[][] ranges = {{'0', '9'}, {'a', 'z'}, {'A', 'Z'}, {0x00e0, 0x00ff}, {0x0400, 0x044f}, {0x4e00, 0x4e80},
            {0x1f600, 0x1f64f}, {0x0300, 0x036f}, {' ', '@'}};
        List<String> out = new ArrayList<>(List.of("", "a", "123-45-6789", "alice@example.com", "4111 1111 1111 1111",
                "\u00e9l\u00e8ve@\u00e9cole.fr", "\ud83d\ude00\ud83d\ude01\ud83d\ude02\ud83d\ude03"));
        for (int i = 0; i < n; i++) {
            StringBuilder sb = new StringBuilder();
            int length = r.nextInt(40);
            for (int k = 0; k < length; k++) {
                int[] range = ranges[r.nextInt(ranges.length)];
                sb.appendCodePoint(range[0] + r.nextInt(range[1] - range[0] + 1));
            }
            out.add(sb.toString());
        }
        return out;
    }

    @Test
    void everyConfiguredNameHasAMasker() {
        for (String name : MaskingConfig.MASKERS) {
            Masker m = column(name, 1, 1, "v", "x", "y", "year", 1.0);
            assertEquals(name, m.name());
        }
    }

    @Test
    void redactingMaskersNeverShowTheValue() {
        for (String name : List.of("redact", "email", "tokenize", "hash", "null", "fixed")) {
            Masker m = masker(name);
            assertTrue(m.redacting(), name);
            for (String v : values(1, 3_000)) {
                String out = m.mask(v);
                if (out == null) {
                    continue;
                }
                String local = name.equals("email") && v.lastIndexOf('@') >= 0 ? v.substring(0, v.lastIndexOf('@')) : v;
                if (local.codePointCount(0, local.length()) >= 3 && !local.chars().allMatch(c -> c == '*')) {
                    assertFalse(out.contains(local), name + " showed " + local + " in " + out);
                }
                assertNotEquals(v.isEmpty() ? "\0" : v, out, name);
            }
        }
    }

    @Test
    void eachMaskerDoesWhatItsNameSays() {
        assertEquals("****", masker("redact").mask("123-45-6789"));
        assertEquals("****@example.com", masker("email").mask("alice@example.com"));
        assertEquals("****", masker("email").mask("not an address"));
        assertNull(masker("null").mask("secret"));
        assertEquals("n/a", column("fixed", null, null, "n/a", null, null, null, null).mask("secret"));
        assertEquals(64, masker("hash").mask("x").length());
        assertEquals("************1111", column("partial", null, 4, null, null, null, null, null).mask("4111111111111111"));
        assertEquals("12*******89", column("partial", 2, 2, null, null, null, null, null).mask("12345678989"));
        assertEquals("***", column("partial", 2, 2, null, null, null, null, null).mask("abc"), "too short: masked whole");
        assertEquals("\ud83d\ude00**\ud83d\ude03", column("partial", 1, 1, null, null, null, null, null)
                .mask("\ud83d\ude00\ud83d\ude01\ud83d\ude02\ud83d\ude03"), "characters, not UTF-16 units");
        assertEquals("XXX-XX-6789", column("regex", null, null, null, "^\\d{3}-\\d{2}", "XXX-XX", null, null).mask("123-45-6789"));
        assertEquals("2024-01-01", column("date", null, null, null, null, null, "year", null).mask("2024-05-17"));
        assertEquals("2024-05-01 00:00:00+02", column("date", null, null, null, null, null, "month", null)
                .mask("2024-05-17 13:45:12.123456+02"));
        assertEquals("****", column("date", null, null, null, null, null, "year", null).mask("infinity"));
        assertEquals("1200", column("round", null, null, null, null, null, null, 100.0).mask("1234.56"));
        assertEquals("12.3", column("round", null, null, null, null, null, null, 0.1).mask("12.345"));
        assertEquals("-1300", column("round", null, null, null, null, null, null, 100.0).mask("-1250"));
        assertEquals("****", column("round", null, null, null, null, null, null, 10.0).mask("NaN"));
    }

    @Test
    void tokensAreDeterministicPerKeyAndDifferAcrossKeys() {
        Masker a = Maskers.of(MaskingConfig.Column.of("tokenize"), Secret.of("key one"));
        Masker again = Maskers.of(MaskingConfig.Column.of("tokenize"), Secret.of("key one"));
        Masker b = Maskers.of(MaskingConfig.Column.of("tokenize"), Secret.of("key two"));
        Set<String> tokens = new HashSet<>();
        List<String> values = values(2, 2_000);
        Set<String> distinct = new HashSet<>(values);
        for (String v : values) {
            String t = a.mask(v);
            assertTrue(t.matches("tok_[0-9a-f]{24}"), t);
            assertEquals(t, again.mask(v), "the same key, the same token");
            assertNotEquals(t, b.mask(v), "another key, another token");
            tokens.add(t);
        }
        assertEquals(distinct.size(), tokens.size(), "distinct values, distinct tokens");
        assertThrows(IllegalArgumentException.class, () -> Maskers.of(MaskingConfig.Column.of("tokenize"), null));
    }

    @Test
    void partialNeverShowsMoreThanItKeeps() {
        Masker m = column("partial", 2, 3, null, null, null, null, null);
        for (String v : values(3, 3_000)) {
            String out = m.mask(v);
            int n = v.codePointCount(0, v.length());
            assertEquals(n, out.codePointCount(0, out.length()), "one mark per character");
            long kept = 0;
            for (int i = 0; i < out.length(); ) {
                int c = out.codePointAt(i);
                if (c != '*') {
                    kept++;
                }
                i += Character.charCount(c);
            }
            int allowed = n <= 5 ? 0 : 5; // a value of five characters or fewer would be shown whole: masked whole
            assertTrue(kept <= allowed, "kept " + kept + " of " + v);
        }
    }
}
