package io.pgveil.masking;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgveil.config.MaskingConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Content found inside free text is redacted there; look-alikes that fail their check digits are kept. */
class DetectorsTest {
    static Masker detect(String... detectors) {
        return Maskers.of(new MaskingConfig.Column("detect", null, null, null, null, null, null, null, null, null,
                detectors.length == 0 ? null : List.of(detectors)), null);
    }

    @Test
    void eachDetectorFindsItsKind() {
        Masker all = detect();
        assertEquals("write to ****, or call ****", all.mask("write to ada.lovelace@example.com, or call +1 (415) 555-0132"));
        assertEquals("card ****, order 4111111111111112", all.mask("card 4111 1111 1111 1111, order 4111111111111112"),
                "a number that fails the Luhn check is not a card");
        assertEquals("ssn ****", all.mask("ssn 123-45-6789"));
        assertEquals("iban ****; not GB00WEST12345698765431", all.mask("iban GB82 WEST 1234 5698 7654 32; not GB00WEST12345698765431"));
        assertEquals("token ****", all.mask("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"));
        assertEquals("keys **** ****", all.mask("keys AKIAIOSFODNN7EXAMPLE sk_live_abcdefghijklmnop1234"));
        assertEquals("nothing to see, order 1234, 2024-05-17", all.mask("nothing to see, order 1234, 2024-05-17"));
        assertEquals("{\"email\": \"****\"}", all.mask("{\"email\": \"a.b@c.io\"}"), "inside JSON too");
    }

    @Test
    void onlyTheChosenDetectorsRun() {
        Masker emails = detect("email");
        assertEquals("**** 123-45-6789", emails.mask("x@y.org 123-45-6789"));
        assertFalse(emails.redacting(), "what no detector finds is kept");
    }

    @Test
    void detectedValuesNeverSurvive() {
        Masker all = detect();
        for (String v : MaskersTest.values(5, 2_000)) {
            String text = "note: " + v + " mail ada" + v.length() + "@example.com card 4111-1111-1111-1111 ssn 987-65-4321";
            String out = all.mask(text);
            assertFalse(out.contains("@example.com") || out.contains("4111-1111") || out.contains("987-65-4321"), out);
            assertTrue(out.startsWith("note: "), out);
        }
    }
}
