/// "Did you mean" suggestions for misspelled keys and names.
enum EditDistance {
    /// Levenshtein distance, case-insensitive, so `podCidrs` is close to `podCIDRs`.
    static func distance(_ lhs: String, _ rhs: String) -> Int {
        let a = Array(lhs.lowercased().unicodeScalars)
        let b = Array(rhs.lowercased().unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = Array(repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// The closest candidate when it is close enough to be a likely typo.
    static func suggestion(for word: String, among candidates: [String]) -> String? {
        let length = word.count
        let limit = max(2, length / 3)
        // The distance is at least the difference in length, so far-off candidates are skipped
        // without the quadratic comparison (a pasted megabyte compared to short names stays cheap).
        let scored = candidates.filter { abs($0.count - length) <= limit && $0.count <= 1024 }.map { ($0, distance(word, $0)) }.filter { $0.1 <= limit }
        return scored.min { $0.1 < $1.1 }?.0
    }

    /// `did you mean "x"? valid: a, b, c` or just the list.
    static func hint(for word: String, among candidates: [String], noun: String = "valid") -> String {
        // Long lists (Talos document kinds, schema fields) are cut so a hint stays one line.
        let shown = candidates.count > 30 ? candidates.prefix(30).joined(separator: ", ") + ", … (\(candidates.count) in all)" : candidates.joined(separator: ", ")
        let list = shown
        if let best = suggestion(for: word, among: candidates) {
            return "did you mean \"\(best)\"? \(noun): \(list)"
        }
        return "\(noun): \(list)"
    }
}
