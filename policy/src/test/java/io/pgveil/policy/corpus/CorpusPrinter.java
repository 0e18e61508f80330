package io.pgveil.policy.corpus;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Prints what pgveil currently makes of a list of statements (one per line), in the corpus's case format: the
 * starting point for new corpus entries, which a person then checks line by line before adding them.
 * Run it with the policy module's test classpath and a file argument.
 */
public final class CorpusPrinter {
    public static void main(String[] args) throws Exception {
        Corpus corpus = new Corpus();
        List<Object> cases = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(args[0]))) {
            if (line.isBlank()) {
                continue;
            }
            var a = corpus.analyze(line);
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("sql", line);
            Object report = Corpus.report(a);
            c.put(report instanceof Map ? "unparsed" : "analysis", report instanceof Map ? true : report);
            c.put("decisions", corpus.decisions(a));
            cases.add(c);
        }
        System.out.print(Corpus.YAML.writeValueAsString(cases));
    }
}
