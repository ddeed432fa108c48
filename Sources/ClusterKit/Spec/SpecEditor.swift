internal import Foundation
internal import Yams

/// Edits a spec file in place the way a person would: only the characters of the changed value
/// move, so comments, ordering, quoting and blank lines survive byte for byte. Used by
/// `clusterctl node add/remove`.
public enum SpecEditor {
    /// The text with pool `pool`'s `count` set to `count`. The value is located through the YAML
    /// node's position (libyaml's start mark) and only its characters are replaced.
    public static func settingPoolCount(_ count: Int, pool: String, in text: String, file: String) throws(ClusterError) -> String {
        guard count >= 0 else { throw ClusterError(.invalidSpec, "a pool count cannot be negative (\(count))") }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ClusterError(.invalidSpec, "\(file) is not valid YAML", hint: "run `clusterctl validate` to see where", cause: SpecEditorFailure(description: "\(error)"))
        }
        guard let pools = root?.mapping?["pools"]?.sequence else {
            throw ClusterError(.invalidSpec, "\(file) has no pools list", hint: "run `clusterctl validate` to see what is wrong")
        }
        guard let entry = pools.first(where: { $0.mapping?["name"]?.scalar?.string == pool }), let mapping = entry.mapping else {
            let names = pools.compactMap { $0.mapping?["name"]?.scalar?.string }
            throw ClusterError(.notFound, "\(file) has no pool named \"\(pool)\"", hint: EditDistance.hint(for: pool, among: names, noun: "pools"))
        }
        guard let countNode = mapping["count"], let scalar = countNode.scalar, scalar.style == .plain, Int(scalar.string) != nil,
            let mark = scalar.mark
        else {
            throw ClusterError(.invalidSpec, "pool \"\(pool)\" in \(file) has no plain integer count to change",
                hint: "write `count: <n>` in the pool, then run the command again")
        }
        var scalars = text.unicodeScalars
        guard let start = index(of: mark, in: scalars) else {
            throw ClusterError(.invalidSpec, "cannot find \(file):\(mark.line):\(mark.column) in the text")
        }
        let old = scalar.string.unicodeScalars
        guard let end = scalars.index(start, offsetBy: old.count, limitedBy: scalars.endIndex),
            scalars[start..<end].elementsEqual(old)
        else {
            throw ClusterError(.invalidSpec, "the count of pool \"\(pool)\" at \(file):\(mark.line):\(mark.column) is not where YAML says it is",
                hint: "edit the count by hand")
        }
        scalars.replaceSubrange(start..<end, with: String(count).unicodeScalars)
        return String(scalars)
    }

    /// Sets pool `pool`'s count in the spec file at `path`, writing it atomically (a temporary
    /// file in the same directory, flushed, then renamed over the original, keeping its mode).
    public static func setPoolCount(_ count: Int, pool: String, path: String) throws(ClusterError) {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ClusterError(.io, "cannot read \(path)")
        }
        let updated = try settingPoolCount(count, pool: pool, in: text, file: path)
        if updated == text { return }
        try writeAtomically(updated, to: path)
    }

    /// The position of a libyaml mark (1-based line, column counted in Unicode scalars).
    static func index(of mark: Mark, in scalars: String.UnicodeScalarView) -> String.UnicodeScalarView.Index? {
        var line = 1
        var index = scalars.startIndex
        while line < mark.line {
            guard let newline = scalars[index...].firstIndex(of: "\n") else { return nil }
            index = scalars.index(after: newline)
            line += 1
        }
        return scalars.index(index, offsetBy: mark.column - 1, limitedBy: scalars.endIndex)
    }

    /// Replaces the file atomically, keeping its permission bits.
    static func writeAtomically(_ text: String, to path: String) throws(ClusterError) {
        let mode = (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.uint32Value ?? 0o644
        try SecureFile.write(text, to: URL(fileURLWithPath: path), mode: mode_t(mode & 0o7777))
    }
}

/// The underlying reason a spec edit failed, kept as a ``ClusterError`` cause.
struct SpecEditorFailure: Error, Sendable, CustomStringConvertible {
    var description: String
}
