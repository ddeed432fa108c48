public import Foundation

/// A bare Git repository on disk, as a Git host keeps it, with the reads tests make (heads,
/// files, history) and commits by another writer pushed straight into it.
public struct BareGitRepository: Sendable {
    public static let gitPath = "/usr/bin/git"

    public let path: URL
    let commitScript: URL

    /// Creates an empty bare repository at `path` whose HEAD names `initialBranch`; helper
    /// scripts go to `scripts`.
    public init(at path: URL, initialBranch: String = "main", scripts: URL) throws {
        self.path = path
        try ChildProcess.run(Self.gitPath, ["init", "--quiet", "--bare", "--initial-branch", initialBranch, path.path])
        commitScript = scripts.appendingPathComponent("commit-file.sh")
        try Self.commitFileScript.write(to: commitScript, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: commitScript.path)
    }

    /// Commits `content` at `path` on `branch` as "Other Writer"; returns the new head.
    @discardableResult
    public func commit(path file: String, content: String, branch: String = "main", message: String = "Other writer") throws -> String {
        let contentFile = commitScript.deletingLastPathComponent().appendingPathComponent("content-\(UUID().uuidString.prefix(8))")
        try content.write(to: contentFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: contentFile) }
        try ChildProcess.run(commitScript.path, commitArguments(path: file, contentFile: contentFile.path, branch: branch, message: message))
        return try head(branch: branch) ?? ""
    }

    /// The arguments of the commit script for one commit.
    func commitArguments(path file: String, contentFile: String, branch: String, message: String) -> [String] {
        [path.path, branch, file, contentFile, message]
    }

    /// The head of `branch`, or nil when it does not exist.
    public func head(branch: String = "main") throws -> String? {
        let sha = try git(["for-each-ref", "--format=%(objectname)", "refs/heads/\(branch)"]).trimmingCharacters(in: .whitespacesAndNewlines)
        return sha.isEmpty ? nil : sha
    }

    /// A file's content at the head of `branch`, or nil when it is not there.
    public func file(_ file: String, branch: String = "main") -> String? {
        try? git(["show", "\(branch):\(file)"])
    }

    /// One commit of ``log(branch:)``.
    public struct Commit: Sendable, Hashable {
        public var sha: String
        public var parents: [String]
        /// `Name <email>` as recorded.
        public var author: String
        public var committer: String
        public var message: String
        /// Files the commit touched.
        public var files: [String]
    }

    /// The history of `branch`, newest first; empty when the branch does not exist.
    public func log(branch: String = "main") throws -> [Commit] {
        guard try head(branch: branch) != nil else { return [] }
        let output = try git(["log", "--format=%x1e%H%x1f%P%x1f%an <%ae>%x1f%cn <%ce>%x1f%s%x1f", "--name-only", branch])
        return output.split(separator: "\u{1e}").compactMap { record in
            let fields = record.split(separator: "\u{1f}", omittingEmptySubsequences: false)
            guard fields.count >= 6 else { return nil }
            return Commit(
                sha: String(fields[0]), parents: fields[1].split(separator: " ").map(String.init), author: String(fields[2]),
                committer: String(fields[3]), message: String(fields[4]),
                files: fields[5].split(separator: "\n").map(String.init).filter { !$0.isEmpty })
        }
    }

    private func git(_ arguments: [String]) throws -> String {
        try ChildProcess.run(Self.gitPath, ["--git-dir", path.path] + arguments)
    }

    /// Commits one file into a bare repository as "Other Writer", through a scratch clone.
    static let commitFileScript = """
        #!/bin/sh
        set -eu
        bare=$1 branch=$2 path=$3 content=$4 message=$5
        work=$(mktemp -d)
        trap 'rm -rf "$work"' EXIT
        export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
        git init -q -b "$branch" "$work"
        cd "$work"
        git remote add origin "$bare"
        if git ls-remote --exit-code --heads origin "$branch" >/dev/null; then
            git fetch -q origin "$branch"
            git reset -q --hard FETCH_HEAD
        fi
        mkdir -p "$(dirname "$path")"
        cp "$content" "$path"
        git add -A
        git -c user.name="Other Writer" -c user.email=other@example.org commit -q -m "$message"
        git push -q origin "HEAD:refs/heads/$branch"

        """
}
