package io.pgveil.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Loads the one YAML configuration file: substitutes {@code ${env:NAME}} (or {@code ${env:NAME:-default}}),
 * binds the result to {@link PgveilConfig}, and validates it. Every problem is reported with the file, the line
 * and the YAML path of the key, so that an operator can fix the file without guessing.
 *
 * <p>Environment references are replaced by inert placeholders before the YAML is parsed and by their values
 * after, so a value can never change the structure of the document (a password containing "}" or "#" stays a
 * password), and references work in flow mappings such as {@code { password: ${env:PW} }}.
 */
public final class ConfigLoader {
    private static final Pattern ENV_REF = Pattern.compile("\\$\\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?}");
    private static final Pattern ENV_START = Pattern.compile("\\$\\{env:");

    private final Function<String, String> environment;

    public ConfigLoader(Function<String, String> environment) {
        this.environment = environment;
    }

    /** A loader that reads the process environment. */
    public static ConfigLoader withSystemEnvironment() {
        return new ConfigLoader(System::getenv);
    }

    public PgveilConfig load(Path file) throws ConfigException {
        return parse(read(file), file.toString(), file.toAbsolutePath().getParent());
    }

    private static String read(Path file) throws ConfigException {
        try {
            return Files.readString(file);
        } catch (NoSuchFileException e) {
            throw single(file.toString(), "file not found");
        } catch (IOException e) {
            throw single(file.toString(), "cannot read: " + e.getMessage());
        }
    }

    /** Parses YAML text; {@code source} names it in error messages, relative paths resolve against {@code baseDir}. */
    public PgveilConfig parse(String yaml, String source, Path baseDir) throws ConfigException {
        return parse(yaml, source, "upstream", PgveilConfig.class, c -> c.resolvedAgainst(baseDir), ConfigValidator::validate);
    }

    /**
     * Loads a separate policy file ({@code policy.file}): {@code rules}, {@code guardrails} and {@code analysis},
     * with the same substitution and the same precise errors as the main configuration.
     */
    public PolicyConfig loadPolicy(Path file) throws ConfigException {
        return parsePolicy(read(file), file.toString());
    }

    /**
     * The policy in force for a configuration's policy section: the rules and guardrails of {@code policy.file}
     * when it names one (read now), else the section itself.
     */
    public PolicyConfig effectivePolicy(PolicyConfig policy) throws ConfigException {
        if (policy.file() == null) {
            return policy;
        }
        PolicyConfig fromFile = loadPolicy(policy.file());
        return new PolicyConfig(policy.file(), fromFile.rules(), fromFile.guardrails(), policy.analysis(), policy.enabled());
    }

    /** Parses the text of a policy file; {@code source} names it in error messages. */
    public PolicyConfig parsePolicy(String yaml, String source) throws ConfigException {
        PolicyConfig p = parse(yaml, source, "rules", PolicyConfig.class, c -> c,
                c -> ConfigValidator.validatePolicy("", c));
        if (p.file() != null) {
            throw single(source, "a policy file cannot name another policy file");
        }
        return p;
    }

    private <T> T parse(String yaml, String source, String expectedKey, Class<T> type, java.util.function.UnaryOperator<T> resolve,
                        Function<T, List<ConfigValidator.Finding>> validate) throws ConfigException {
        List<ConfigProblem> problems = new ArrayList<>();
        Placeholders placeholders = new Placeholders(source, problems);
        String masked = placeholders.mask(yaml);

        Located tree = new Located(source);
        try (JsonParser parser = YAML.createParser(masked)) {
            tree.root = tree.read(parser, "");
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            problems.add(new ConfigProblem(source, at == null ? 0 : at.getLineNr(), "",
                    "not valid YAML: " + e.getOriginalMessage()));
        } catch (IOException e) {
            problems.add(new ConfigProblem(source, 0, "", "cannot parse: " + e.getMessage()));
        }
        problems.addAll(tree.problems);
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        if (tree.root == null || !tree.root.isObject()) {
            throw single(source, "the configuration must be a YAML mapping with at least an '" + expectedKey + "' section");
        }
        tree.substitute(tree.root, "", placeholders);
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }

        T config;
        try {
            config = MAPPER.treeToValue(tree.root, type);
        } catch (JsonMappingException e) {
            throw new ConfigException(List.of(bindingProblem(e, tree)));
        } catch (JsonProcessingException e) {
            throw single(source, e.getOriginalMessage());
        }
        config = resolve.apply(config);
        for (ConfigValidator.Finding f : validate.apply(config)) {
            problems.add(new ConfigProblem(source, tree.lineOf(f.path()), f.path(), f.message()));
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return config;
    }

    private static ConfigException single(String source, String message) {
        return new ConfigException(List.of(new ConfigProblem(source, 0, "", message)));
    }

    private static ConfigProblem bindingProblem(JsonMappingException e, Located tree) {
        String path = pathOf(e.getPath());
        String message;
        if (e instanceof UnrecognizedPropertyException u) {
            List<String> known = new ArrayList<>();
            for (Object k : u.getKnownPropertyIds()) {
                known.add(String.valueOf(k));
            }
            known.sort(null);
            message = "unknown key '" + u.getPropertyName() + "'; known keys here: " + String.join(", ", known);
        } else if (e instanceof InvalidFormatException f) {
            message = "'" + f.getValue() + "' is not valid here: " + describe(f.getTargetType());
        } else if (e instanceof MismatchedInputException m) {
            message = "expected " + describe(m.getTargetType());
        } else {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            message = cause.getMessage() != null ? cause.getMessage() : e.getOriginalMessage();
        }
        return new ConfigProblem(tree.source, tree.lineOf(path), path, message);
    }

    private static String describe(Class<?> type) {
        if (type == null) {
            return "a different value";
        }
        if (type.isEnum()) {
            List<String> names = new ArrayList<>();
            for (Object c : type.getEnumConstants()) {
                names.add(MAPPER.convertValue(c, String.class));
            }
            return "one of " + String.join(", ", names);
        }
        if (type == Integer.class || type == int.class || type == Long.class || type == long.class) {
            return "a whole number";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "true or false";
        }
        if (type == Duration.class) {
            return "a duration such as 30s, 5m or 250ms";
        }
        if (type == String.class || type == Secret.class || type == Path.class) {
            return "a text value";
        }
        if (List.class.isAssignableFrom(type)) {
            return "a list";
        }
        return "a mapping (key: value pairs)";
    }

    private static String pathOf(List<JsonMappingException.Reference> refs) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference r : refs) {
            if (r.getFieldName() != null) {
                if (sb.length() > 0) {
                    sb.append('.');
                }
                sb.append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                sb.append('[').append(r.getIndex()).append(']');
            }
        }
        return sb.toString();
    }

    private static final YAMLFactory YAML = new YAMLFactory();
    private static final ObjectMapper MAPPER = new ObjectMapper(YAML)
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .registerModule(new SimpleModule("pgveil-config")
                    .addDeserializer(Duration.class, new ConfigValues.DurationDeserializer()));

    /** Replaces each ${env:...} with a token that YAML treats as plain text, and back. */
    private final class Placeholders {
        private final String prefix = "__pgveil_env_" + HexFormat.of().formatHex(new SecureRandom().generateSeed(6)) + "_";
        private final Pattern token = Pattern.compile(Pattern.quote(prefix) + "(\\d+)__");
        private final List<String[]> refs = new ArrayList<>();
        private final String source;
        private final List<ConfigProblem> problems;

        Placeholders(String source, List<ConfigProblem> problems) {
            this.source = source;
            this.problems = problems;
        }

        String mask(String yaml) {
            Matcher starts = ENV_START.matcher(yaml);
            while (starts.find()) {
                Matcher ref = ENV_REF.matcher(yaml).region(starts.start(), yaml.length());
                if (!ref.lookingAt()) {
                    int line = (int) yaml.substring(0, starts.start()).chars().filter(c -> c == '\n').count() + 1;
                    problems.add(new ConfigProblem(source, line, "",
                            "malformed environment reference; write ${env:NAME} or ${env:NAME:-default}"));
                }
            }
            Matcher m = ENV_REF.matcher(yaml);
            StringBuilder out = new StringBuilder();
            while (m.find()) {
                refs.add(new String[] {m.group(1), m.group(2)});
                m.appendReplacement(out, Matcher.quoteReplacement(prefix + (refs.size() - 1) + "__"));
            }
            m.appendTail(out);
            return out.toString();
        }

        /** The text with references replaced by their values, or null (and a problem) when one is unset. */
        String unmask(String text, String path, int line) {
            Matcher m = token.matcher(text);
            StringBuilder out = new StringBuilder();
            boolean ok = true;
            while (m.find()) {
                String[] ref = refs.get(Integer.parseInt(m.group(1)));
                String value = environment.apply(ref[0]);
                if (value == null) {
                    value = ref[1];
                }
                if (value == null) {
                    problems.add(new ConfigProblem(source, line, path,
                            "environment variable " + ref[0] + " is not set (write ${env:" + ref[0]
                                    + ":-default} to give a default)"));
                    ok = false;
                    value = "";
                }
                m.appendReplacement(out, Matcher.quoteReplacement(value));
            }
            m.appendTail(out);
            return ok ? out.toString() : null;
        }
    }

    /** A YAML tree plus the line on which each key was written. */
    private static final class Located {
        final String source;
        final Map<String, Integer> lines = new HashMap<>();
        final List<ConfigProblem> problems = new ArrayList<>();
        JsonNode root;

        Located(String source) {
            this.source = source;
        }

        JsonNode read(JsonParser p, String path) throws IOException {
            JsonToken t = p.currentToken() == null ? p.nextToken() : p.currentToken();
            if (t == null) {
                return null;
            }
            lines.putIfAbsent(path, p.currentLocation().getLineNr());
            switch (t) {
                case START_OBJECT -> {
                    ObjectNode obj = JsonNodeFactory.instance.objectNode();
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String key = p.currentName();
                        String child = path.isEmpty() ? key : path + "." + key;
                        int line = p.currentLocation().getLineNr();
                        if (obj.has(key)) {
                            problems.add(new ConfigProblem(source, line, child, "key is written twice; keep one"));
                        }
                        lines.put(child, line);
                        p.nextToken();
                        obj.set(key, read(p, child));
                    }
                    return obj;
                }
                case START_ARRAY -> {
                    ArrayNode arr = JsonNodeFactory.instance.arrayNode();
                    int i = 0;
                    while (p.nextToken() != JsonToken.END_ARRAY) {
                        arr.add(read(p, path + "[" + i++ + "]"));
                    }
                    return arr;
                }
                case VALUE_STRING -> {
                    return TextNode.valueOf(p.getText());
                }
                case VALUE_NUMBER_INT -> {
                    return JsonNodeFactory.instance.numberNode(p.getLongValue());
                }
                case VALUE_NUMBER_FLOAT -> {
                    return JsonNodeFactory.instance.numberNode(p.getDecimalValue());
                }
                case VALUE_TRUE, VALUE_FALSE -> {
                    return JsonNodeFactory.instance.booleanNode(p.getBooleanValue());
                }
                case VALUE_NULL -> {
                    return JsonNodeFactory.instance.nullNode();
                }
                default -> throw new IOException("unexpected YAML token " + t);
            }
        }

        void substitute(JsonNode node, String path, Placeholders placeholders) {
            if (node instanceof ObjectNode obj) {
                List<String> keys = new ArrayList<>();
                obj.fieldNames().forEachRemaining(keys::add);
                for (String key : keys) {
                    String child = path.isEmpty() ? key : path + "." + key;
                    JsonNode value = obj.get(key);
                    if (value != null && value.isTextual()) {
                        String text = placeholders.unmask(value.asText(), child, lineOf(child));
                        obj.set(key, text == null ? value : TextNode.valueOf(text));
                    } else {
                        substitute(value, child, placeholders);
                    }
                }
            } else if (node instanceof ArrayNode arr) {
                for (int i = 0; i < arr.size(); i++) {
                    String child = path + "[" + i + "]";
                    JsonNode value = arr.get(i);
                    if (value.isTextual()) {
                        String text = placeholders.unmask(value.asText(), child, lineOf(child));
                        arr.set(i, text == null ? value : TextNode.valueOf(text));
                    } else {
                        substitute(value, child, placeholders);
                    }
                }
            }
        }

        /** The line of {@code path}, or of its nearest ancestor written in the file. */
        int lineOf(String path) {
            String p = path;
            while (true) {
                Integer line = lines.get(p);
                if (line != null) {
                    return line;
                }
                int cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
                if (cut <= 0) {
                    return 0;
                }
                p = p.substring(0, cut);
            }
        }
    }
}
