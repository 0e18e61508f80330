package io.pgveil.e2e;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgveil.config.MaskingConfig;
import io.pgveil.proxy.server.ProxyServer;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Masking is configured but not yet applied by the relay (issue 13 in progress): a pgveil asked to mask columns
 * does not start, rather than send them in the clear.
 */
class MaskingNotYetAppliedTest {
    @Test
    void aConfigurationThatAsksForMaskingDoesNotStart() {
        MaskingConfig masking = new MaskingConfig(null, null, Map.of("public.users.ssn", MaskingConfig.Column.of("redact")));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> ProxyServer.start(Pgveil.defaultConfig().withMasking(masking)).stop(java.time.Duration.ZERO));
        assertTrue(e.getMessage().contains("does not mask results yet"), e.getMessage());
    }
}
