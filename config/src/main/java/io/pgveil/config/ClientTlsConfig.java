package io.pgveil.config;

import java.nio.file.Path;

/**
 * TLS offered to clients. When the {@code tls} section is absent, pgveil answers SSLRequest with 'N'.
 *
 * @param cert     PEM certificate chain
 * @param key      PEM private key (PKCS#8)
 * @param required refuse clients that do not use TLS
 */
public record ClientTlsConfig(Path cert, Path key, Boolean required) {
    public ClientTlsConfig {
        required = required != null && required;
    }

    ClientTlsConfig resolvedAgainst(Path baseDir) {
        return new ClientTlsConfig(ConfigPaths.resolve(baseDir, cert), ConfigPaths.resolve(baseDir, key), required);
    }
}
