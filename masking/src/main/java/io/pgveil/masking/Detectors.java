package io.pgveil.masking;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Content detectors: sensitive values found inside free text (a note, a JSON document) and redacted there, the
 * rest of the text kept. Each detector is a pattern, and for card numbers and IBANs the check digits too (Luhn,
 * ISO 7064 mod 97), so that order numbers and the like are not taken for them.
 */
final class Detectors {
    static final String FOUND = "****";

    private record Detector(Pattern pattern, Predicate<String> valid) {
    }

    private static final java.util.Map<String, Detector> ALL = java.util.Map.of(
            "email", new Detector(Pattern.compile("[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}"), s -> true),
            "phone", new Detector(Pattern.compile("(?<![\\w+])\\+?\\d[\\d ().-]{7,}\\d(?!\\w)"), s -> digits(s).length() >= 9
                    && digits(s).length() <= 15),
            "card", new Detector(Pattern.compile("(?<!\\d)\\d(?:[ -]?\\d){12,18}(?!\\d)"), s -> luhn(digits(s))),
            "ssn", new Detector(Pattern.compile("(?<!\\d)\\d{3}-\\d{2}-\\d{4}(?!\\d)"), s -> true),
            "iban", new Detector(Pattern.compile("(?<![A-Za-z0-9])[A-Z]{2}\\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])"), Detectors::iban),
            "jwt", new Detector(Pattern.compile("eyJ[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*"), s -> true),
            "api_key", new Detector(Pattern.compile("(?:(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}|AKIA[0-9A-Z]{16}"
                    + "|gh[pousr]_[A-Za-z0-9]{36,}|xox[abpr]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35})"), s -> true));

    private Detectors() {
    }

    /** The order detectors run in: those with check digits first, so that a looser one does not take their digits. */
    private static final List<String> ORDER = List.of("iban", "card", "jwt", "api_key", "email", "ssn", "phone");

    /** A masker that redacts what {@code names} detect in each value. */
    static Masker of(List<String> names) {
        for (String n : names) {
            if (!ALL.containsKey(n)) {
                throw new IllegalArgumentException("unknown detector " + n);
            }
        }
        List<Detector> chosen = new ArrayList<>();
        for (String n : ORDER) {
            if (names.contains(n)) {
                chosen.add(ALL.get(n));
            }
        }
        return new Masker() {
            @Override
            public String mask(String value) {
                String out = value;
                for (Detector d : chosen) {
                    out = redact(out, d);
                }
                return out;
            }

            @Override
            public boolean redacting() {
                return false; // what no detector finds is kept
            }

            @Override
            public String name() {
                return "detect";
            }
        };
    }

    private static String redact(String text, Detector d) {
        Matcher m = d.pattern().matcher(text);
        StringBuilder out = null;
        int copied = 0;
        while (m.find()) {
            if (!d.valid().test(m.group())) {
                continue;
            }
            if (out == null) {
                out = new StringBuilder(text.length());
            }
            out.append(text, copied, m.start()).append(FOUND);
            copied = m.end();
        }
        return out == null ? text : out.append(text, copied, text.length()).toString();
    }

    private static String digits(String s) {
        StringBuilder d = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= '0' && c <= '9') {
                d.append(c);
            }
        }
        return d.toString();
    }

    /** The Luhn check of a card number's digits. */
    static boolean luhn(String digits) {
        int sum = 0;
        for (int i = 0; i < digits.length(); i++) {
            int d = digits.charAt(digits.length() - 1 - i) - '0';
            if (i % 2 == 1) {
                d *= 2;
                if (d > 9) {
                    d -= 9;
                }
            }
            sum += d;
        }
        return digits.length() >= 13 && sum % 10 == 0;
    }

    /** The ISO 13616 check of an IBAN (spaces allowed): moved country code and check digits, mod 97 is 1. */
    static boolean iban(String s) {
        String compact = s.replace(" ", "");
        String moved = compact.substring(4) + compact.substring(0, 4);
        int mod = 0;
        for (int i = 0; i < moved.length(); i++) {
            char c = moved.charAt(i);
            int v = Character.isDigit(c) ? c - '0' : c - 'A' + 10;
            mod = v >= 10 ? (mod * 100 + v) % 97 : (mod * 10 + v) % 97;
        }
        return mod == 1;
    }
}
