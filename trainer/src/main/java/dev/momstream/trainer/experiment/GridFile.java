package dev.momstream.trainer.experiment;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.config.ModelSize;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.config.Overrides;
import dev.momstream.trainer.config.Preset;
import dev.momstream.trainer.io.FileErrors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads a {@link Grid} from YAML ({@code .yaml}, {@code .yml}) or JSON ({@code .json}). Like
 * {@code MomConfig.validate}, it collects every problem before failing, each naming the key and
 * the value, e.g. {@code arms[2] (moe): K=3 exceeds the FFN pool of 2 modules}.
 */
public final class GridFile {
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]*");
    private static final Set<String> TOP = Set.of("name", "title", "description", "size", "tokens", "seeds", "eval",
            "checkpointEvery", "model", "train", "arms", "report", "claims");
    private static final Set<String> ARM = Set.of("name", "preset", "model", "train", "tokens", "initFrom", "initAt",
            "prune");

    private final List<String> problems = new ArrayList<>();

    private GridFile() {}

    /** The grid {@code file} declares; an {@link IllegalArgumentException} lists every problem. */
    public static Grid read(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read grid " + file + ": " + FileErrors.reason(e), e);
        }
        String lower = file.getFileName().toString().toLowerCase(Locale.ROOT);
        ObjectMapper mapper;
        if (lower.endsWith(".yaml") || lower.endsWith(".yml")) {
            mapper = new YAMLMapper();
        } else if (lower.endsWith(".json")) {
            mapper = Json.MAPPER;
        } else {
            throw new IllegalArgumentException("grid " + file + ": expected a .yaml, .yml or .json file");
        }
        JsonNode root;
        try {
            root = mapper.readTree(text);
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            throw new IllegalArgumentException("grid " + file + " is not valid " + (mapper == Json.MAPPER ? "JSON" : "YAML")
                    + (at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")")
                    + ": " + e.getOriginalMessage());
        }
        return parse(root, file.toString());
    }

    /** The grid {@code root} declares; {@code source} names it in messages. */
    public static Grid parse(JsonNode root, String source) {
        GridFile f = new GridFile();
        Grid grid = f.grid(root);
        if (!f.problems.isEmpty()) {
            throw new IllegalArgumentException("invalid grid " + source + ": " + String.join("; ", f.problems));
        }
        return grid;
    }

    private Grid grid(JsonNode root) {
        if (root == null || !root.isObject()) {
            problems.add("expected a mapping of grid keys at the top, got " + kind(root));
            return null;
        }
        unknownKeys(root, TOP, "");
        String name = text(root, "name", null);
        if (name == null) {
            problems.add("name is missing");
        } else if (!NAME.matcher(name).matches()) {
            problems.add("name='" + name + "' must be lower-case letters, digits and dashes");
        }
        ModelSize size = ModelSize.TINY;
        String sizeText = text(root, "size", "tiny");
        try {
            size = ModelSize.parse(sizeText);
        } catch (IllegalArgumentException e) {
            problems.add("size: " + e.getMessage());
        }
        long tokens = positive(root, "tokens", null, 1);
        List<Long> seeds = seeds(root.get("seeds"));
        JsonNode eval = root.get("eval");
        if (eval == null || !eval.isObject()) {
            problems.add("eval is missing (e.g. eval: {every: 80, tokens: 16384})");
            eval = Json.MAPPER.createObjectNode();
        } else {
            unknownKeys(eval, Set.of("every", "tokens"), "eval.");
        }
        int evalEvery = (int) positive(eval, "every", "eval.", 1);
        long evalTokens = positive(eval, "tokens", "eval.", 1);
        int checkpointEvery = root.has("checkpointEvery") ? (int) positive(root, "checkpointEvery", null, 1) : evalEvery;
        JsonNode model = section(root, "model", "");
        JsonNode train = section(root, "train", "");
        List<Grid.Arm> arms = arms(root.get("arms"), tokens);
        Map<String, Object> report = report(root.get("report"));
        List<Grid.Claim> claims = claims(root.get("claims"), arms);
        @SuppressWarnings("unchecked")
        Grid grid = new Grid(name, text(root, "title", name), text(root, "description", ""), size, tokens, seeds,
                evalEvery, evalTokens, checkpointEvery, model, train, arms, (String) report.get("reference"),
                (List<String>) report.get("heatmap"), (List<String>) report.get("routing"), claims);
        if (problems.isEmpty()) {
            checkArms(grid);
        }
        return grid;
    }

    private List<Grid.Arm> arms(JsonNode node, long gridTokens) {
        List<Grid.Arm> arms = new ArrayList<>();
        if (node == null || !node.isArray() || node.isEmpty()) {
            problems.add("arms must be a non-empty list, got " + kind(node));
            return arms;
        }
        Set<String> names = new HashSet<>();
        for (int i = 0; i < node.size(); i++) {
            JsonNode a = node.get(i);
            String where = "arms[" + i + "]";
            if (!a.isObject()) {
                problems.add(where + " must be a mapping, got " + kind(a));
                continue;
            }
            String name = text(a, "name", null);
            where += name == null ? "" : " (" + name + ")";
            if (name == null) {
                problems.add(where + ": name is missing");
            } else if (!NAME.matcher(name).matches()) {
                problems.add(where + ": name='" + name + "' must be lower-case letters, digits and dashes");
            } else if (!names.add(name)) {
                problems.add(where + ": name '" + name + "' is used twice");
            }
            unknownKeys(a, ARM, where + ".");
            Preset preset = Preset.MOM;
            try {
                preset = Preset.parse(text(a, "preset", "mom"));
            } catch (IllegalArgumentException e) {
                problems.add(where + ": " + e.getMessage());
            }
            long tokens = a.has("tokens") ? nonNegative(a, "tokens", where + ".") : gridTokens;
            String initFrom = text(a, "initFrom", null);
            double initAt = 0.5;
            if (a.has("initAt")) {
                initAt = a.get("initAt").asDouble(Double.NaN);
                if (!a.get("initAt").isNumber() || !(initAt > 0 && initAt < 1)) {
                    problems.add(where + ": initAt=" + a.get("initAt") + " must be a fraction in (0, 1)");
                }
                if (initFrom == null) {
                    problems.add(where + ": initAt is given without initFrom");
                }
            }
            Grid.Prune prune = prune(a.get("prune"), where);
            if (initFrom != null && prune != null) {
                problems.add(where + ": give initFrom or prune, not both");
            }
            if (prune != null && (a.has("model") || a.has("preset"))) {
                problems.add(where + ": a pruned arm takes its model from prune.from; remove its model/preset");
            }
            for (String ref : new String[] {initFrom, prune == null ? null : prune.from()}) {
                if (ref != null && !names.contains(ref) || ref != null && ref.equals(name)) {
                    problems.add(where + ": '" + ref + "' must name an arm declared before this one");
                }
            }
            arms.add(new Grid.Arm(name, preset, section(a, "model", where + "."), section(a, "train", where + "."),
                    tokens, initFrom, initAt, prune));
        }
        return arms;
    }

    private Grid.Prune prune(JsonNode p, String where) {
        if (p == null) {
            return null;
        }
        if (!p.isObject()) {
            problems.add(where + ".prune must be a mapping {from, attention, ffn}, got " + kind(p));
            return null;
        }
        unknownKeys(p, Set.of("from", "attention", "ffn"), where + ".prune.");
        String from = text(p, "from", null);
        if (from == null) {
            problems.add(where + ".prune.from is missing");
        }
        double[] fractions = new double[2];
        String[] keys = {"attention", "ffn"};
        for (int i = 0; i < 2; i++) {
            JsonNode v = p.get(keys[i]);
            fractions[i] = v == null ? 0 : v.asDouble(Double.NaN);
            if (v != null && (!v.isNumber() || !(fractions[i] >= 0 && fractions[i] < 1))) {
                problems.add(where + ".prune." + keys[i] + "=" + v + " must be a fraction in [0, 1)");
            }
        }
        if (fractions[0] == 0 && fractions[1] == 0) {
            problems.add(where + ".prune removes nothing: give attention and/or ffn fractions");
        }
        return new Grid.Prune(from, fractions[0], fractions[1]);
    }

    /** Checks that need every arm's resolved configuration: run only when the file itself is well-formed. */
    private void checkArms(Grid g) {
        Map<String, Configs> resolved = new LinkedHashMap<>();
        for (Grid.Arm a : g.arms()) {
            String where = "arm " + a.name();
            Configs c;
            try {
                c = g.configs(a, g.size()).validate();
            } catch (IllegalArgumentException e) {
                problems.add(where + ": " + e.getMessage());
                continue;
            }
            resolved.put(a.name(), c);
            if (a.initFrom() != null && resolved.containsKey(a.initFrom())) {
                MomConfig v = resolved.get(a.initFrom()).model();
                MomConfig m = c.model();
                if (v.chunks() != 0) {
                    problems.add(where + ": initFrom '" + a.initFrom() + "' must be a vanilla arm (C=0), it has C="
                            + v.chunks());
                } else if (v.bottom() + v.top() != m.vanillaLayers()) {
                    problems.add(where + ": two-phase init needs a vanilla arm of " + m.vanillaLayers()
                            + " layers (B + C*(max(N_A,N_F) + anchor) + T), '" + a.initFrom() + "' has "
                            + (v.bottom() + v.top()));
                } else if (v.d() != m.d() || v.heads() != m.heads() || v.contextLength() != m.contextLength()) {
                    problems.add(where + ": width, heads and context must match '" + a.initFrom() + "'");
                }
            }
            if (a.prune() != null && resolved.containsKey(a.prune().from())) {
                checkPrune(where, a.prune(), resolved.get(a.prune().from()).model());
            }
        }
        for (String ref : g.routing()) {
            if (!resolved.containsKey(ref) && g.arms().stream().noneMatch(a -> a.name().equals(ref))) {
                problems.add("report.routing: no arm named '" + ref + "'");
            }
        }
        if (g.reference() != null && g.arms().stream().noneMatch(a -> a.name().equals(g.reference()))) {
            problems.add("report.reference: no arm named '" + g.reference() + "'");
        }
        for (String key : g.heatmap()) {
            if (Overrides.componentName(MomConfig.class, key) == null) {
                problems.add("report.heatmap: '" + key + "' is not a model key");
            }
        }
    }

    private void checkPrune(String where, Grid.Prune p, MomConfig source) {
        if (source.chunks() == 0) {
            problems.add(where + ": prune.from '" + p.from() + "' has no module pools (C=0)");
            return;
        }
        int attn = removedCount(where + ".prune.attention", p.attention(), source.attnModules());
        int ffn = removedCount(where + ".prune.ffn", p.ffn(), source.ffnModules());
        if (attn < 0 || ffn < 0) {
            return;
        }
        try {
            source.toBuilder().pools(source.attnModules() - attn, source.ffnModules() - ffn, source.topK(),
                    source.rounds(), source.skip()).build().validate();
        } catch (IllegalArgumentException e) {
            problems.add(where + ": the pruned model is invalid: " + e.getMessage());
        }
    }

    /** Modules removed from a pool of {@code modules} by {@code fraction}, or -1 (and a problem) when not whole. */
    private int removedCount(String where, double fraction, int modules) {
        double n = fraction * modules;
        if (Math.abs(n - Math.rint(n)) > 1e-9) {
            problems.add(where + "=" + fraction + " of a pool of " + modules + " modules is " + n
                    + " modules, not a whole number");
            return -1;
        }
        return (int) Math.rint(n);
    }

    /** Modules a fraction removes from a pool (the fraction was checked to be whole when the grid was read). */
    static int removed(double fraction, int modules) {
        return (int) Math.rint(fraction * modules);
    }

    private Map<String, Object> report(JsonNode r) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("reference", null);
        out.put("heatmap", List.of());
        out.put("routing", List.of());
        if (r == null) {
            return out;
        }
        if (!r.isObject()) {
            problems.add("report must be a mapping, got " + kind(r));
            return out;
        }
        unknownKeys(r, Set.of("reference", "heatmap", "routing"), "report.");
        out.put("reference", text(r, "reference", null));
        JsonNode h = r.get("heatmap");
        if (h != null) {
            List<String> keys = strings(h, "report.heatmap");
            if (keys.size() != 2) {
                problems.add("report.heatmap must list two model keys (rows, columns), got " + h);
            } else {
                out.put("heatmap", keys);
            }
        }
        if (r.has("routing")) {
            out.put("routing", strings(r.get("routing"), "report.routing"));
        }
        return out;
    }

    private List<Grid.Claim> claims(JsonNode node, List<Grid.Arm> arms) {
        List<Grid.Claim> out = new ArrayList<>();
        if (node == null) {
            return out;
        }
        if (!node.isArray()) {
            problems.add("claims must be a list, got " + kind(node));
            return out;
        }
        Set<String> names = new HashSet<>();
        arms.forEach(a -> names.add(a.name()));
        for (int i = 0; i < node.size(); i++) {
            JsonNode c = node.get(i);
            String where = "claims[" + i + "]";
            if (!c.isObject()) {
                problems.add(where + " must be a mapping, got " + kind(c));
                continue;
            }
            unknownKeys(c, Set.of("claim", "lower", "than", "similar", "to", "tolerance", "metric"), where + ".");
            String text = text(c, "claim", null);
            if (text == null) {
                problems.add(where + ".claim (the statement) is missing");
            }
            boolean lower = c.has("lower");
            if (lower == c.has("similar")) {
                problems.add(where + ": give exactly one of lower (with than) or similar (with to)");
                continue;
            }
            String arm = text(c, lower ? "lower" : "similar", null);
            String other = text(c, lower ? "than" : "to", null);
            for (String ref : new String[] {arm, other}) {
                if (ref == null) {
                    problems.add(where + ": " + (lower ? "lower and than" : "similar and to") + " must both name arms");
                } else if (!names.contains(ref)) {
                    problems.add(where + ": no arm named '" + ref + "'");
                }
            }
            double tolerance = 0;
            if (!lower) {
                JsonNode t = c.get("tolerance");
                tolerance = t == null ? Double.NaN : t.asDouble(Double.NaN);
                if (t == null || !t.isNumber() || !(tolerance > 0)) {
                    problems.add(where + ": similar needs a positive tolerance (nats), got " + t);
                }
            }
            String metric = text(c, "metric", "final");
            if (!metric.equals("final") && !metric.equals("removed")) {
                problems.add(where + ": metric='" + metric + "' must be final or removed");
            }
            out.add(new Grid.Claim(text, lower ? "lower" : "similar", arm, other, metric, tolerance));
        }
        return out;
    }

    private List<Long> seeds(JsonNode node) {
        List<Long> seeds = new ArrayList<>();
        if (node == null || !node.isArray() || node.isEmpty()) {
            problems.add("seeds must be a non-empty list of integers, got " + kind(node));
            return seeds;
        }
        for (JsonNode s : node) {
            if (!s.isIntegralNumber()) {
                problems.add("seeds: " + s + " is not an integer");
            } else if (seeds.contains(s.asLong())) {
                problems.add("seeds: " + s + " is listed twice");
            } else {
                seeds.add(s.asLong());
            }
        }
        return seeds;
    }

    private List<String> strings(JsonNode node, String where) {
        List<String> out = new ArrayList<>();
        if (!node.isArray()) {
            problems.add(where + " must be a list, got " + kind(node));
            return out;
        }
        node.forEach(n -> out.add(n.asText()));
        return out;
    }

    private JsonNode section(JsonNode parent, String key, String where) {
        JsonNode s = parent.get(key);
        if (s != null && !s.isObject()) {
            problems.add(where + key + " must be a mapping of config keys, got " + kind(s));
            return null;
        }
        if (s != null) {
            for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                boolean known = key.equals("model") ? Overrides.componentName(MomConfig.class, k) != null
                        : Overrides.componentName(dev.momstream.trainer.train.TrainConfig.class, k) != null;
                if (!known) {
                    problems.add(where + key + ": unknown " + key + " key '" + k + "'");
                }
            }
        }
        return s;
    }

    private String text(JsonNode parent, String key, String fallback) {
        JsonNode v = parent.get(key);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isTextual()) {
            problems.add(key + " must be text, got " + v);
            return fallback;
        }
        return v.asText();
    }

    private long positive(JsonNode parent, String key, String where, long min) {
        JsonNode v = parent.get(key);
        String name = (where == null ? "" : where) + key;
        if (v == null) {
            problems.add(name + " is missing");
            return min;
        }
        if (!v.isIntegralNumber() || v.asLong() < min) {
            problems.add(name + "=" + v + " must be an integer of at least " + min);
            return min;
        }
        return v.asLong();
    }

    private long nonNegative(JsonNode parent, String key, String where) {
        JsonNode v = parent.get(key);
        if (!v.isIntegralNumber() || v.asLong() < 0) {
            problems.add(where + key + "=" + v + " must be a non-negative integer");
            return 0;
        }
        return v.asLong();
    }

    private void unknownKeys(JsonNode node, Set<String> known, String where) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!known.contains(k)) {
                problems.add(where + k + ": unknown key (known: " + String.join(", ", new java.util.TreeSet<>(known)) + ")");
            }
        }
    }

    private static String kind(JsonNode n) {
        return n == null ? "nothing" : n.getNodeType().toString().toLowerCase(Locale.ROOT);
    }
}
