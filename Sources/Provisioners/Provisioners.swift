// Provider backends live in folders beside this file: Simulator/, Hetzner/, Libvirt/, Proxmox/,
// and the transports HTTP/ (libcurl) and SSH/ (libssh2).
