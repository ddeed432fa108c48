import CLibSSH2
import ClusterKit

extension SSHConnection {
    /// Runs one command on an exec channel, feeding `stdin` and collecting stdout, stderr and the
    /// exit status. Reads and writes interleave so neither side's window can deadlock the other.
    func exec(_ command: RemoteCommand, stdin: [UInt8]?, deadline: ContinuousClock.Instant?) throws -> RemoteCommandResult {
        let session = session
        let sessionRaw = session.raw
        let what = "running `\(command.arguments.first ?? "")`"
        let channel = SSHChannelHandle(
            raw: try session.open("opening an exec channel", .channel, deadline: deadline) {
                clusterctl_ssh2_channel_open_session(sessionRaw)
            },
            session: session)
        let raw = channel.raw
        let line = command.shellLine
        try session.call(what, .channel, deadline: deadline) {
            libssh2_channel_process_startup(raw, "exec", 4, line, UInt32(line.utf8.count))
        }

        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        let input = stdin ?? []
        var offset = 0
        var inputDone = false
        var buffer = [CChar](repeating: 0, count: 32768)
        while true {
            var progressed = false
            if !inputDone {
                if offset < input.count {
                    let written = input.withUnsafeBytes { bytes -> Int in
                        let base = bytes.baseAddress.map { $0.assumingMemoryBound(to: CChar.self) + offset }
                        return libssh2_channel_write_ex(raw, 0, base, min(input.count - offset, 32768))
                    }
                    if written > 0 {
                        offset += written
                        progressed = true
                    } else if written < 0 && written != Int(LIBSSH2_ERROR_EAGAIN) {
                        // The command exited without reading all of its input; what it printed still counts.
                        if libssh2_channel_eof(raw) == 0 && Int32(written) != LIBSSH2_ERROR_CHANNEL_EOF_SENT {
                            try session.check(Int32(written), .channel, "\(what): writing stdin")
                        }
                        inputDone = true
                    }
                } else {
                    let rc = libssh2_channel_send_eof(raw)
                    if rc != LIBSSH2_ERROR_EAGAIN {
                        if rc < 0 && libssh2_channel_eof(raw) == 0 { try session.check(rc, .channel, "\(what): closing stdin") }
                        inputDone = true
                        progressed = true
                    }
                }
            }
            var streamsAtEnd = true
            for (stream, isStderr) in [(Int32(0), false), (clusterctl_ssh2_stderr_stream, true)] {
                while true {
                    let count = buffer.withUnsafeMutableBufferPointer {
                        libssh2_channel_read_ex(raw, stream, $0.baseAddress, $0.count)
                    }
                    if count > 0 {
                        let bytes = buffer[0..<count].map { UInt8(bitPattern: $0) }
                        if isStderr { stderr += bytes } else { stdout += bytes }
                        progressed = true
                    } else if count == Int(LIBSSH2_ERROR_EAGAIN) {
                        streamsAtEnd = false
                        break
                    } else if count < 0 {
                        try session.check(Int32(count), .channel, "\(what): reading output")
                    } else {
                        break
                    }
                }
            }
            if streamsAtEnd && libssh2_channel_eof(raw) != 0 && inputDone { break }
            if !progressed { try session.waitForSocket(what, deadline: deadline) }
        }
        try session.call("\(what): closing the channel", .channel, deadline: deadline) { libssh2_channel_close(raw) }
        try session.call("\(what): waiting for the exit status", .channel, deadline: deadline) {
            libssh2_channel_wait_closed(raw)
        }
        var status = libssh2_channel_get_exit_status(raw)
        var signalName: UnsafeMutablePointer<CChar>?
        var signalLength = 0
        if libssh2_channel_get_exit_signal(raw, &signalName, &signalLength, nil, nil, nil, nil) == 0, let signalName {
            let name = String(cString: signalName)
            libssh2_free(sessionRaw, signalName)
            // A command killed by a signal has no exit status; report it as a shell would (128+n is
            // unknown here, so 255) and say which signal on stderr.
            status = 255
            stderr += Array("\n[killed by signal \(name)]\n".utf8)
        }
        return RemoteCommandResult(exitStatus: status, stdout: stdout, stderr: stderr)
    }
}
