import Foundation

/// Hetzner's label selector language (spec: "Label Selector"): `k==v`, `k=v`, `k!=v`, `k`,
/// `!k`, `k in (a,b)`, `k notin (a,b)`, joined by commas (AND).
public struct HetznerLabelSelector: Sendable, Hashable {
    enum Term: Sendable, Hashable {
        case equals(String, String)
        case notEquals(String, String)
        case present(String)
        case absent(String)
        case isIn(String, Set<String>)
        case notIn(String, Set<String>)
    }

    let terms: [Term]

    /// Nil when the expression is malformed (the API answers `invalid_input`).
    public init?(_ text: String) {
        var parts: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            if character == "(" { depth += 1 }
            if character == ")" { depth -= 1 }
            if character == ",", depth == 0 {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current)
        var terms: [Term] = []
        for raw in parts {
            let part = raw.trimmingCharacters(in: .whitespaces)
            guard !part.isEmpty else { return nil }
            if let range = part.range(of: " notin ") ?? part.range(of: " in ") {
                let key = part[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
                let list = part[range.upperBound...].trimmingCharacters(in: .whitespaces)
                guard list.hasPrefix("("), list.hasSuffix(")") else { return nil }
                let values = Set(list.dropFirst().dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
                terms.append(part[range].contains("notin") ? .notIn(key, values) : .isIn(key, values))
            } else if let range = part.range(of: "!=") {
                terms.append(.notEquals(String(part[..<range.lowerBound]), String(part[range.upperBound...])))
            } else if let range = part.range(of: "==") ?? part.range(of: "=") {
                terms.append(.equals(String(part[..<range.lowerBound]), String(part[range.upperBound...])))
            } else if part.hasPrefix("!") {
                terms.append(.absent(String(part.dropFirst())))
            } else {
                terms.append(.present(part))
            }
        }
        self.terms = terms
    }

    public func matches(_ labels: [String: String]) -> Bool {
        terms.allSatisfy { term in
            switch term {
            case .equals(let key, let value): labels[key] == value
            case .notEquals(let key, let value): labels[key] != value
            case .present(let key): labels[key] != nil
            case .absent(let key): labels[key] == nil
            case .isIn(let key, let values): labels[key].map(values.contains) ?? false
            case .notIn(let key, let values): !(labels[key].map(values.contains) ?? false)
            }
        }
    }
}
