"""Network faults between our client and the server, for tests and benchmarks.

Topology::

    sandbox namespace visio-<pid>                  server namespace visio-srv-<pid>-<n>
    (pytest, our client)                           (livekit-server, SDK peers)
    vsrv<n>-c 10.78.<n>.1/24 <------ veth ------> vsrv<n>-s 10.78.<n>.2/24

Why a second namespace: inside one namespace, traffic between its own addresses is
delivered locally (through `lo`) even when the addresses sit on the two ends of a veth,
so a rule on that veth never sees it. With the server in its own namespace, everything
between the client and the server really crosses `vsrv<n>-c`, where `LinkFaults`
filters it: nftables `netdev` chains for drops (silent to the sender, like a radio link
gone quiet) and an iptables NFQUEUE rule plus a userspace shaper for latency, since this
kernel has no sch_netem. Rules live in the sandbox namespace, so they can never touch
the machine's real network and disappear with the sandbox.

Typical use::

    with ServerNamespace() as ns, LiveKitServer(host_ip=ns.server_ip, netns=ns.name,
                                                port=7980, ...) as server:
        faults = ns.link_faults()
        with faults.cut(duration_s=5):
            ...
"""

from devtools.netfaults.delay_shaper import DelayProfile, DelayShaper
from devtools.netfaults.faults import FAULT_KINDS, Direction, Fault, LinkFaults, LinkFaultsError
from devtools.netfaults.nfqueue import NfQueue, NfQueueError
from devtools.netfaults.topology import ServerNamespace, cleanup_stale_server_namespaces

__all__ = [
    "FAULT_KINDS",
    "DelayProfile",
    "DelayShaper",
    "Direction",
    "Fault",
    "LinkFaults",
    "LinkFaultsError",
    "NfQueue",
    "NfQueueError",
    "ServerNamespace",
    "cleanup_stale_server_namespaces",
]
