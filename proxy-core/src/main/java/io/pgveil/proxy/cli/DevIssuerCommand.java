package io.pgveil.proxy.cli;

import io.pgveil.proxy.demo.DevIssuer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code pgveil dev-issuer}: DEVELOPMENT ONLY. Runs the demo's token issuer on the loopback interface, for local
 * development and the benchmarks; prints {@code issuer=<url>} and serves until stopped.
 */
@Command(name = "dev-issuer", mixinStandardHelpOptions = true, hidden = true,
        description = "DEVELOPMENT ONLY: a local OIDC issuer with fixed clients (client-credentials grant).")
final class DevIssuerCommand implements Callable<Integer> {
    @Option(names = "--client", required = true, paramLabel = "ID:SECRET:SUBJECT:GROUP[,GROUP...]",
            description = "A client the issuer knows; repeatable.")
    List<String> clients;

    @Override
    public Integer call() throws Exception {
        List<DevIssuer.Client> known = new ArrayList<>();
        for (String spec : clients) {
            String[] p = spec.split(":", 4);
            if (p.length < 3) {
                System.err.println("pgveil dev-issuer: --client wants ID:SECRET:SUBJECT[:GROUP,...], got " + spec);
                return Main.EXIT_CONFIG;
            }
            known.add(new DevIssuer.Client(p[0], p[1], p[2], p.length > 3 ? Arrays.asList(p[3].split(",")) : List.of()));
        }
        DevIssuer issuer = DevIssuer.start(known);
        System.out.println("issuer=" + issuer.issuer());
        System.out.println("audience=" + DevIssuer.AUDIENCE);
        System.out.flush();
        ServeUntilSignal.serve(issuer::close);
        return 0;
    }
}
