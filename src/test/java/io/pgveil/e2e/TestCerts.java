package io.pgveil.e2e;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A throw-away certificate authority and certificates signed by it, written as PEM files, for TLS tests.
 * The server certificates name only IP 127.0.0.1, so verify-full against "localhost" fails the host check.
 */
public final class TestCerts {
    public final Path dir;
    public final Path caCert;
    public final Path serverCert;
    public final Path serverKey;
    /** A second, unrelated authority: certificates it trusts are not ours. */
    public final Path otherCaCert;

    private TestCerts(Path dir) throws Exception {
        this.dir = dir;
        KeyPair ca = rsa();
        X509Certificate caCertificate = certificate(new X500Name("CN=pgveil test CA"), ca, new X500Name("CN=pgveil test CA"),
                ca.getPublic(), true, null);
        KeyPair server = rsa();
        X509Certificate serverCertificate = certificate(new X500Name("CN=pgveil test CA"), ca, new X500Name("CN=127.0.0.1"),
                server.getPublic(), false, new GeneralNames(new GeneralName(GeneralName.iPAddress, "127.0.0.1")));
        KeyPair other = rsa();
        X509Certificate otherCa = certificate(new X500Name("CN=someone else"), other, new X500Name("CN=someone else"),
                other.getPublic(), true, null);
        caCert = write("ca.crt", pem(caCertificate));
        serverCert = write("server.crt", pem(serverCertificate));
        serverKey = write("server.key", pem(new JcaPKCS8Generator(server.getPrivate(), null).generate()));
        Files.setPosixFilePermissions(serverKey, PosixFilePermissions.fromString("rw-------"));
        otherCaCert = write("other-ca.crt", pem(otherCa));
    }

    public static TestCerts create(Path dir) {
        try {
            Files.createDirectories(dir);
            return new TestCerts(dir);
        } catch (Exception e) {
            throw new IllegalStateException("cannot create test certificates", e);
        }
    }

    private static KeyPair rsa() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        return g.generateKeyPair();
    }

    private static X509Certificate certificate(X500Name issuer, KeyPair issuerKeys, X500Name subject,
                                               java.security.PublicKey subjectKey, boolean ca, GeneralNames san)
            throws Exception {
        Instant now = Instant.now();
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(now.toEpochMilli()),
                Date.from(now.minus(1, ChronoUnit.DAYS)), Date.from(now.plus(365, ChronoUnit.DAYS)), subject, subjectKey);
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
        if (ca) {
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        } else {
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
        }
        if (san != null) {
            b.addExtension(Extension.subjectAlternativeName, false, san);
        }
        PrivateKey signer = issuerKeys.getPrivate();
        return new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withRSA").build(signer)));
    }

    private static String pem(Object o) throws IOException {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            w.writeObject(o);
        }
        return out.toString();
    }

    private Path write(String name, String content) throws IOException {
        return Files.writeString(dir.resolve(name), content);
    }
}
