r"""VM-to-VM communication across a topology, as a scenario kind (issue 17, item 3).

``vm.predict``, ``vm.simulate``, ``vm.compare`` and ``vm.sweep`` accept a
:class:`NetworkScenario`.  It holds

* a :class:`Topology` of :class:`NetworkHost` s (each with a virtual switch
  and a NIC) and full-duplex :class:`Link` s between hosts (and optional
  physical switches),
* a placement of VMs on hosts, and
* :class:`Flow` s of packets between VMs.

Every packet visits a *tandem of FCFS single-server stations*:

* same host: ``vswitch:<host>`` only (a memory copy through the virtual
  switch, e.g. Open vSwitch's datapath or a Linux bridge);
* across hosts: ``vswitch:<src>`` -> ``nic_tx:<src>`` -> ``link:<a>-><b>``
  for each hop of the route -> ``nic_rx:<dst>`` -> ``vswitch:<dst>``, with
  each link's fixed propagation ``latency`` added after its station.

Routes are shortest in hops (breadth-first, ties broken by the order the
links are listed), so the same pair of hosts always uses the same route.  A
station serves a packet of size ``x`` in ``overhead + x / bandwidth``.

How a packet's service times at successive stations relate is explicit
(``service_times``):

* ``"packet"`` (the default, what happens on a real path): a packet keeps its
  size, so its service times along the path are perfectly correlated;
* ``"independent"``: each station draws a fresh size from the flow's law
  (Kleinrock's independence assumption, Kleinrock 1975 vol. 1 / 1964).

Metrics (group: the flow's name, or a station's name for ``utilization``):
``mean_response`` (end-to-end latency, first arrival to last departure plus
propagation), ``p95_response`` (where the model gives it), ``throughput``,
``mean_number`` (packets of the flow in the network, Little's law), and
per station ``utilization``.  Clock synchronisation: for each pair of flows
named in ``sync`` (request client -> server, reply server -> client),
``delay_asymmetry`` :math:`E[d_\to] - E[d_\leftarrow]` and
``sync_offset_error`` = asymmetry / 2, the mean error of NTP's on-wire
offset estimate (RFC 5905, §8), group ``"<request>/<reply>"``;
:meth:`NetworkScenario.sync_path` turns such a pair into the
:class:`~virtmodel.analytic.clock.PathDelay` s that
:class:`virtmodel.clock.NTP` and :class:`virtmodel.clock.PTP` take.

Closed forms: :mod:`virtmodel.analytic.network`; simulator:
:mod:`virtmodel.sim.network`; derivations: :mod:`virtmodel.symbolic.network`.

Modelled, simplified, missing (the host side read in Linux's vhost-net,
``drivers/vhost/net.c``, linux-next 2025): a virtio-net packet leaves the
guest through the vhost worker thread of its device, which takes descriptors
from the TX virtqueue and copies the packet from guest memory into a socket
buffer (zero-copy only with the module parameter ``experimental_zcopytx``,
off by default, and only for packets of at least ``VHOST_GOODCOPY_LEN`` =
256 bytes), then hands it to the tap device, the bridge or Open vSwitch; on
the receiving side the worker copies it into the guest's RX buffers.  Hence
the vswitch station: one server whose service is a per-packet cost plus
size / copy bandwidth.

* Modelled: store-and-forward FCFS queues at the vswitch, the NIC's
  transmit and receive paths and each link direction (an output port's
  queue), packet sizes, per-packet costs, fixed propagation.
* Simplified: the vswitch is one FCFS server shared by both directions and
  all VMs of the host, where vhost runs one worker per device that serves
  its TX and RX virtqueues in turns of at most ``VHOST_NET_PKT_WEIGHT`` =
  256 packets or ``VHOST_NET_WEIGHT`` = 512 KiB (a polling system with
  limited service, not FCFS); one NIC queue per direction (no multi-queue
  RSS); queues are infinite (no drops, no TCP congestion or flow control:
  flows are open packet streams); intermediate nodes forward in hardware
  (only their output links queue).
* Missing: zero-copy transmission, busy polling (``busyloop_timeout``), the
  64-packet RX batching (``VHOST_NET_BATCH``), notification suppression and
  interrupt coalescing (issue 17 item 2 models the I/O path overhead),
  priorities and traffic shaping, multipath routing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ._validation import nonnegative, positive, positive_int, scalar, sequence, unique_names
from .dists import Distribution, Exponential
from .errors import InvalidParameter

__all__ = ["NetworkHost", "Link", "Topology", "Flow", "NetworkScenario", "SyncPath", "SERVICE_TIMES"]

#: how a packet's service times at successive stations relate
SERVICE_TIMES = ("packet", "independent")


def _name(param, value):
    if not isinstance(value, str) or not value:
        raise InvalidParameter(f"{param} must be a non-empty string, got {value!r}")
    return value


@dataclass(frozen=True)
class NetworkHost:
    """A host: its virtual switch and its NIC, each an FCFS single-server station.

    Parameters
    ----------
    name : str
    vswitch_bandwidth : float or None
        Rate at which the virtual switch copies packet bytes (size units per
        time unit), > 0.  None: the VMs bypass the vswitch (SR-IOV
        pass-through: a virtual function of the NIC per VM), so traffic
        between hosts skips it and traffic within the host is not allowed.
    nic_bandwidth : float or None
        Rate of the NIC's transmit path and, separately, of its receive path
        (full duplex), > 0.  None: the NIC is not modelled as a queue (never
        the bottleneck).
    vswitch_overhead, nic_overhead : float, default 0
        Fixed cost per packet (time units), >= 0.

    Examples
    --------
    >>> NetworkHost("h1", vswitch_bandwidth=10.0, nic_bandwidth=5.0).nic_bandwidth
    5.0
    """

    name: str
    vswitch_bandwidth: float | None
    nic_bandwidth: float | None
    vswitch_overhead: float = 0.0
    nic_overhead: float = 0.0

    def __post_init__(self):
        _name("name", self.name)
        for p in ("vswitch_bandwidth", "nic_bandwidth"):
            if getattr(self, p) is not None:
                object.__setattr__(self, p, scalar(positive, f"NetworkHost({self.name!r}).{p}", getattr(self, p)))
        for p in ("vswitch_overhead", "nic_overhead"):
            object.__setattr__(self, p, scalar(nonnegative, f"NetworkHost({self.name!r}).{p}", getattr(self, p)))


@dataclass(frozen=True)
class Link:
    """A full-duplex link between nodes ``a`` and ``b``: one FCFS output queue per direction.

    Parameters
    ----------
    a, b : str
        Host or switch names.
    bandwidth : float
        Transmission rate of each direction (size units per time unit), > 0.
    latency : float, default 0
        Fixed propagation delay of each direction (time units), >= 0; an
        infinite-server delay, it adds to the latency and queues nothing.
    overhead : float, default 0
        Fixed per-packet cost at the output port, >= 0.

    Examples
    --------
    >>> Link("h1", "h2", bandwidth=-1.0)
    Traceback (most recent call last):
    ...
    virtmodel.errors.InvalidParameter: Link('h1', 'h2').bandwidth must be > 0, got -1.0
    """

    a: str
    b: str
    bandwidth: float
    latency: float = 0.0
    overhead: float = 0.0

    def __post_init__(self):
        _name("Link.a", self.a)
        _name("Link.b", self.b)
        if self.a == self.b:
            raise InvalidParameter(f"Link must join two different nodes, got a = b = {self.a!r}")
        tag = f"Link({self.a!r}, {self.b!r})"
        object.__setattr__(self, "bandwidth", scalar(positive, f"{tag}.bandwidth", self.bandwidth))
        object.__setattr__(self, "latency", scalar(nonnegative, f"{tag}.latency", self.latency))
        object.__setattr__(self, "overhead", scalar(nonnegative, f"{tag}.overhead", self.overhead))


@dataclass(frozen=True)
class Topology:
    """Hosts, optional physical switches, and the links between them.

    Parameters
    ----------
    hosts : sequence of NetworkHost
    links : sequence of Link
    switches : sequence of str, default ()
        Names of nodes that only forward (a top-of-rack switch): no VMs, no
        vswitch, no NIC; only their output links queue.

    Examples
    --------
    >>> t = Topology([NetworkHost("h1", 10, 5), NetworkHost("h2", 10, 5)], [Link("h1", "tor", 4.0),
    ...              Link("tor", "h2", 4.0)], switches=["tor"])
    >>> t.route("h1", "h2")
    [('h1', 'tor'), ('tor', 'h2')]
    """

    hosts: tuple
    links: tuple = ()
    switches: tuple = ()

    def __post_init__(self):
        hosts = sequence("hosts", self.hosts)
        if not hosts:
            raise InvalidParameter("hosts must hold at least one NetworkHost, got an empty sequence")
        for h in hosts:
            if not isinstance(h, NetworkHost):
                raise InvalidParameter(f"hosts must be NetworkHost objects, got {h!r}")
        links = sequence("links", self.links)
        for lk in links:
            if not isinstance(lk, Link):
                raise InvalidParameter(f"links must be Link objects, got {lk!r}")
        switches = tuple(_name("switches", s) for s in sequence("switches", self.switches))
        names = unique_names("host and switch", [h.name for h in hosts] + list(switches))
        known = set(names)
        pairs = set()
        for lk in links:
            for end in (lk.a, lk.b):
                if end not in known:
                    raise InvalidParameter(f"Link({lk.a!r}, {lk.b!r}) end must be a host or switch, got {end!r} "
                                           f"(known: {names})")
            key = frozenset((lk.a, lk.b))
            if key in pairs:
                raise InvalidParameter(f"links must join each pair of nodes at most once, got {lk.a!r}-{lk.b!r} twice")
            pairs.add(key)
        object.__setattr__(self, "hosts", hosts)
        object.__setattr__(self, "links", links)
        object.__setattr__(self, "switches", switches)

    def host(self, name) -> NetworkHost:
        """The host called ``name``."""
        for h in self.hosts:
            if h.name == name:
                return h
        raise InvalidParameter(f"host must be one of {[h.name for h in self.hosts]}, got {name!r}")

    def link(self, a, b) -> Link:
        """The link joining ``a`` and ``b`` (either order)."""
        for lk in self.links:
            if {lk.a, lk.b} == {a, b}:
                return lk
        raise InvalidParameter(f"no link joins {a!r} and {b!r}")

    def route(self, src, dst) -> list[tuple[str, str]]:
        """Directed hops of the shortest route (in hops) from node ``src`` to ``dst``; [] when equal.

        Breadth-first search; neighbours are tried in the order the links
        are listed, so ties are broken the same way every time.

        Raises
        ------
        InvalidParameter
            When no sequence of links joins the two nodes.
        """
        if src == dst:
            return []
        neighbours: dict[str, list[str]] = {}
        for lk in self.links:
            neighbours.setdefault(lk.a, []).append(lk.b)
            neighbours.setdefault(lk.b, []).append(lk.a)
        parent = {src: None}
        todo = deque([src])
        while todo:
            node = todo.popleft()
            for nxt in neighbours.get(node, ()):
                if nxt not in parent:
                    parent[nxt] = node
                    todo.append(nxt)
        if dst not in parent:
            raise InvalidParameter(f"route from {src!r} to {dst!r} must exist: no path of links joins them "
                                   f"(links: {[(lk.a, lk.b) for lk in self.links]})")
        hops, node = [], dst
        while parent[node] is not None:
            hops.append((parent[node], node))
            node = parent[node]
        return hops[::-1]


@dataclass(frozen=True)
class Flow:
    """A stream of packets from VM ``src`` to VM ``dst``.

    Parameters
    ----------
    src, dst : str
        VM names (placed by :class:`NetworkScenario`'s ``placement``).
    arrival : Distribution or float
        Interarrival law of the packets (a renewal process); a number is a
        Poisson rate (``Exponential(rate)``).
    size : Distribution
        Packet size law (size units, e.g. kB); service at a station is
        ``overhead + size / bandwidth``.
    name : str, optional
        The flow's group name; default ``"<src>-><dst>"``.

    Examples
    --------
    >>> Flow("a", "b", 0.5, Exponential(1.0)).name, Flow("a", "b", 0.5, Exponential(1.0)).rate
    ('a->b', 0.5)
    """

    src: str
    dst: str
    arrival: object
    size: Distribution
    name: str | None = None

    def __post_init__(self):
        _name("Flow.src", self.src)
        _name("Flow.dst", self.dst)
        if self.name is None:
            object.__setattr__(self, "name", f"{self.src}->{self.dst}")
        _name("Flow.name", self.name)
        arrival = self.arrival
        if not isinstance(arrival, Distribution):
            if isinstance(arrival, bool) or not isinstance(arrival, (int, float, np.floating, np.integer)):
                raise InvalidParameter(f"Flow({self.name!r}).arrival must be a Distribution or a Poisson rate > 0, "
                                       f"got {arrival!r}")
            arrival = Exponential(scalar(positive, f"Flow({self.name!r}).arrival", arrival))
        elif not arrival.mean > 0:
            raise InvalidParameter(f"Flow({self.name!r}).arrival must have a mean > 0, got {arrival!r}")
        object.__setattr__(self, "arrival", arrival)
        if not isinstance(self.size, Distribution) or not self.size.mean > 0:
            raise InvalidParameter(f"Flow({self.name!r}).size must be a Distribution with a mean > 0, "
                                   f"got {self.size!r}")

    @property
    def rate(self) -> float:
        """Packets per time unit, 1 / E[interarrival]."""
        return 1.0 / float(self.arrival.mean)

    @property
    def poisson(self) -> bool:
        """Whether the packets arrive as a Poisson process."""
        return type(self.arrival).__name__ == "Exponential"


@dataclass(frozen=True)
class Station:
    """One FCFS single-server station of the network (internal; see :meth:`NetworkScenario.stations`)."""

    name: str
    bandwidth: float
    overhead: float


@dataclass(frozen=True)
class SyncPath:
    r"""The network path of a clock-synchronisation exchange, as the clock model takes it.

    ``to_server`` and ``from_server`` are
    :class:`~virtmodel.analytic.clock.PathDelay` s: ``minimum`` is the fixed
    part (propagation plus per-packet overheads), ``queueing_mean`` the rest
    of the predicted mean one-way delay.  Their means are the predicted
    mean delays of the request and reply flows (exact when the prediction is,
    ``exact``); the exponential shape of the random part is a mean-matched
    approximation (exact for a path of one M/M/1 station, whose sojourn is
    exponential with rate :math:`\mu - \lambda`).

    ``asymmetry`` is :math:`E[d_\to] - E[d_\leftarrow]` and ``offset_error``
    its half, the mean error :math:`E[\hat\theta - \theta]` of NTP's on-wire
    estimate (RFC 5905, §8; :func:`virtmodel.analytic.clock.asymmetry_error`).
    """

    to_server: object
    from_server: object
    exact: bool

    @property
    def asymmetry(self) -> float:
        return self.to_server.mean - self.from_server.mean

    @property
    def offset_error(self) -> float:
        from .analytic.clock import asymmetry_error

        return float(asymmetry_error(self.to_server.mean, self.from_server.mean))

    def ntp(self, poll_interval: float = 64.0, filter_length: int = 8, topology: str = "star"):
        """A :class:`virtmodel.clock.NTP` client over this path."""
        from .clock import NTP

        return NTP(poll_interval, to_server=self.to_server, from_server=self.from_server,
                   filter_length=filter_length, topology=topology)

    def ptp(self, sync_interval: float = 1.0, hardware_timestamps: bool = False, topology: str = "star"):
        """A :class:`virtmodel.clock.PTP` slave over this path."""
        from .clock import PTP

        return PTP(sync_interval, to_server=self.to_server, from_server=self.from_server,
                   hardware_timestamps=hardware_timestamps, topology=topology)


@dataclass(frozen=True)
class NetworkScenario:
    """VMs placed on the hosts of a topology, exchanging packet flows.

    Parameters
    ----------
    topology : Topology
    placement : mapping of str to str
        VM name -> host name.
    flows : sequence of Flow
    service_times : {"packet", "independent"}, default "packet"
        ``"packet"``: a packet's size sets its service at every station of
        its path (real, correlated); ``"independent"``: a fresh size is drawn
        at each station (Kleinrock's independence assumption).
    sync : sequence of (str, str), default ()
        Pairs (request flow, reply flow) of a clock-synchronisation exchange;
        the request must go from some VM c to some VM s, the reply from s to c.
    packets : int, default 200_000
        Expected packets (all flows) per simulated replication; the horizon
        is ``packets / total rate``.
    warmup : float, default 0.1
        Share of the horizon discarded before measuring, in [0, 1).
    allow_overload : bool, default False
        Whether a station with utilization >= 1 is accepted (predictions are
        then inf); otherwise it raises :class:`~virtmodel.errors.UnstableSystem`.

    Examples
    --------
    >>> import virtmodel as vm
    >>> from virtmodel.dists import Exponential
    >>> topo = vm.Topology([vm.NetworkHost("h1", 4.0, 2.0), vm.NetworkHost("h2", 4.0, 2.0)],
    ...                    [vm.Link("h1", "h2", bandwidth=2.0, latency=0.1)])
    >>> sc = vm.NetworkScenario(topo, {"a": "h1", "b": "h2"}, [vm.Flow("a", "b", 1.0, Exponential(1.0))],
    ...                         service_times="independent")
    >>> sc.path("a->b")
    ['vswitch:h1', 'nic_tx:h1', 'link:h1->h2', 'nic_rx:h2', 'vswitch:h2']
    >>> pred = vm.predict(sc)                     # 2 x M/M/1(1, 4) + 3 x M/M/1(1, 2) + 0.1
    >>> round(pred.value("mean_response", "a->b"), 6), pred.exact
    (3.766667, True)
    """

    topology: Topology
    placement: Mapping
    flows: tuple
    service_times: str = "packet"
    sync: tuple = ()
    packets: int = 200_000
    warmup: float = 0.1
    allow_overload: bool = False
    _routes: dict = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        if not isinstance(self.topology, Topology):
            raise InvalidParameter(f"topology must be a virtmodel.Topology, got {self.topology!r}")
        if not isinstance(self.placement, Mapping):
            raise InvalidParameter(f"placement must be a mapping VM name -> host name, got {self.placement!r}")
        hosts = [h.name for h in self.topology.hosts]
        placement = {}
        for vm_name, host in self.placement.items():
            _name("placement VM name", vm_name)
            if host not in hosts:
                raise InvalidParameter(f"placement[{vm_name!r}] must be a host of the topology {hosts}, got {host!r}")
            placement[vm_name] = host
        object.__setattr__(self, "placement", placement)
        flows = sequence("flows", self.flows)
        if not flows:
            raise InvalidParameter("flows must hold at least one Flow, got an empty sequence")
        for f in flows:
            if not isinstance(f, Flow):
                raise InvalidParameter(f"flows must be Flow objects, got {f!r}")
            for end in ("src", "dst"):
                if getattr(f, end) not in placement:
                    raise InvalidParameter(f"Flow({f.name!r}).{end} must be a placed VM {sorted(placement)}, "
                                           f"got {getattr(f, end)!r}")
        names = unique_names("flow", (f.name for f in flows))
        object.__setattr__(self, "flows", flows)
        if self.service_times not in SERVICE_TIMES:
            raise InvalidParameter(f"service_times must be one of {list(SERVICE_TIMES)}, got {self.service_times!r}")
        routes = {}
        for f in flows:  # raises InvalidParameter for hosts that no links join
            routes[f.name] = self._build_path(placement[f.src], placement[f.dst])
        object.__setattr__(self, "_routes", routes)
        sync = tuple(tuple(p) if isinstance(p, (list, tuple)) else p for p in sequence("sync", self.sync))
        by_name = {f.name: f for f in flows}
        for pair in sync:
            if not (isinstance(pair, tuple) and len(pair) == 2 and all(p in by_name for p in pair)):
                raise InvalidParameter(f"sync must hold pairs (request flow, reply flow) of flow names {names}, "
                                       f"got {pair!r}")
            req, rep = by_name[pair[0]], by_name[pair[1]]
            if (req.src, req.dst) != (rep.dst, rep.src):
                raise InvalidParameter(f"sync pair {pair!r} must be a request c -> s and a reply s -> c, got "
                                       f"{req.src}->{req.dst} and {rep.src}->{rep.dst}")
        object.__setattr__(self, "sync", sync)
        object.__setattr__(self, "packets", positive_int("packets", self.packets))
        w = scalar(nonnegative, "warmup", self.warmup)
        if not w < 1:
            raise InvalidParameter(f"warmup must be a share of the horizon in [0, 1), got {w}")
        object.__setattr__(self, "warmup", w)
        if not isinstance(self.allow_overload, (bool, np.bool_)):
            raise InvalidParameter(f"allow_overload must be True or False, got {self.allow_overload!r}")
        if not self.allow_overload:
            self.utilizations()  # raises UnstableSystem naming the station

    # -- structure -----------------------------------------------------------

    def _build_path(self, src_host, dst_host):
        """[(station, latency after it)] for a packet from ``src_host`` to ``dst_host``."""
        topo = self.topology
        src, dst = topo.host(src_host), topo.host(dst_host)

        def vswitch(h):
            return [] if h.vswitch_bandwidth is None else [
                (Station(f"vswitch:{h.name}", h.vswitch_bandwidth, h.vswitch_overhead), 0.0)]

        def nic(h, way):
            return [] if h.nic_bandwidth is None else [
                (Station(f"nic_{way}:{h.name}", h.nic_bandwidth, h.nic_overhead), 0.0)]

        if src_host == dst_host:
            if src.vswitch_bandwidth is None:
                raise InvalidParameter(f"NetworkHost({src_host!r}).vswitch_bandwidth must be set for traffic "
                                       "between two VMs on that host, got None")
            return tuple(vswitch(src))
        links = []
        for a, b in topo.route(src_host, dst_host):
            lk = topo.link(a, b)
            links.append((Station(f"link:{a}->{b}", lk.bandwidth, lk.overhead), lk.latency))
        return tuple(vswitch(src) + nic(src, "tx") + links + nic(dst, "rx") + vswitch(dst))

    def path(self, flow: str) -> list[str]:
        """Names of the stations flow ``flow`` visits, in order."""
        return [s.name for s, _ in self._route(flow)]

    def latency(self, flow: str) -> float:
        """Fixed propagation delay along flow ``flow``'s route."""
        return float(sum(lat for _, lat in self._route(flow)))

    def _route(self, flow):
        if flow not in self._routes:
            raise InvalidParameter(f"flow must be one of {list(self._routes)}, got {flow!r}")
        return self._routes[flow]

    def stations(self) -> list[Station]:
        """Every station some flow visits, in order of first visit (flows in the order given)."""
        seen = {}
        for f in self.flows:
            for s, _ in self._routes[f.name]:
                seen.setdefault(s.name, s)
        return list(seen.values())

    def service_moments(self):
        """(first, second) moments of each flow's service at each station, arrays of shape (flows, stations).

        Zero where the flow does not visit the station.  A packet of size X at
        a station of bandwidth B and overhead o takes o + X/B, so
        E[S] = o + E[X]/B and E[S^2] = o^2 + 2 o E[X]/B + E[X^2]/B^2.
        """
        stations = self.stations()
        index = {s.name: j for j, s in enumerate(stations)}
        m1 = np.zeros((len(self.flows), len(stations)))
        m2 = np.zeros_like(m1)
        for i, f in enumerate(self.flows):
            ex, ex2 = float(f.size.mean), float(f.size.moment(2))
            for s, _ in self._routes[f.name]:
                j = index[s.name]
                m1[i, j] = s.overhead + ex / s.bandwidth
                m2[i, j] = s.overhead**2 + 2 * s.overhead * ex / s.bandwidth + ex2 / s.bandwidth**2
        return m1, m2

    def utilizations(self) -> dict[str, float]:
        """Offered load of each station, sum over flows of rate x E[service].

        Raises
        ------
        UnstableSystem
            When a station's load is >= 1 and ``allow_overload`` is False.
        """
        from .errors import UnstableSystem

        rates = np.array([f.rate for f in self.flows])
        m1, _ = self.service_moments()
        rho = rates @ m1
        out = {s.name: float(r) for s, r in zip(self.stations(), rho, strict=True)}
        if not self.allow_overload:
            for name, r in out.items():
                if r >= 1.0:
                    raise UnstableSystem(f"station {name} must have utilization < 1, got {r:.6g} "
                                         "(pass allow_overload=True to accept it)", utilization=r)
        return out

    def overtake_free(self, flow: str) -> bool:
        """Whether no other flow can leave ``flow``'s path and rejoin it (Walrand & Varaiya 1980).

        True when every other flow meets the path's stations as one
        contiguous run of the path, visited in the path's order.
        """
        path = self.path(flow)
        for f in self.flows:
            if f.name == flow:
                continue
            other = self.path(f.name)
            pos = [path.index(s) for s in other if s in path]
            if len(pos) > 1 and pos != list(range(pos[0], pos[0] + len(pos))):
                return False
            if pos:  # the shared stations must also be consecutive on the other flow's path
                at = [k for k, s in enumerate(other) if s in path]
                if at != list(range(at[0], at[0] + len(at))):
                    return False
        return True

    # -- prediction and simulation ---------------------------------------------

    def predict(self):
        """The closed-form metrics as a :class:`~virtmodel.Prediction`.

        Exact (open Jackson/Kelly network, Jackson 1963, Kelly 1979) when
        every flow is Poisson, every station's service is exponential with
        one mean for all flows that visit it (no per-packet overhead,
        exponential sizes of equal mean), and service times are independent
        across stations (``service_times="independent"``, or paths of one
        station).  Otherwise Whitt's QNA two-moment decomposition
        (``exact=False``).  See :func:`virtmodel.analytic.network.network_prediction`.
        """
        from .analytic.network import network_prediction

        return network_prediction(self)

    def replicate(self, seed, replication) -> dict:
        """One simulated replication: ``{(metric, group): value}`` (see the module docstring)."""
        from .sim.network import network_metrics, simulate_network

        return network_metrics(self, simulate_network(self, seed, replication))

    def sync_path(self, request: str, reply: str) -> SyncPath:
        """The predicted one-way delays of a sync exchange as the clock model's :class:`SyncPath`.

        ``request`` and ``reply`` are flow names (client -> server and back).

        Examples
        --------
        >>> import virtmodel as vm
        >>> from virtmodel.dists import Exponential
        >>> topo = vm.Topology([vm.NetworkHost("h1", 100.0, 50.0), vm.NetworkHost("h2", 100.0, 50.0)],
        ...                    [vm.Link("h1", "h2", bandwidth=2.0, latency=0.1)])
        >>> sc = vm.NetworkScenario(topo, {"c": "h1", "s": "h2", "bulk": "h1", "sink": "h2"},
        ...                         [vm.Flow("c", "s", 0.1, Exponential(1.0), name="req"),
        ...                          vm.Flow("s", "c", 0.1, Exponential(1.0), name="rep"),
        ...                          vm.Flow("bulk", "sink", 1.0, Exponential(1.0))])
        >>> p = sc.sync_path("req", "rep")
        >>> round(p.asymmetry, 4), round(p.offset_error, 4)   # the bulk flow loads h1->h2 only
        (0.5856, 0.2928)
        """
        from .analytic.clock import PathDelay

        pred = self.predict()
        by_name = {f.name: f for f in self.flows}
        for name in (request, reply):
            if name not in by_name:
                raise InvalidParameter(f"request and reply must be flow names {list(by_name)}, got {name!r}")
        req, rep = by_name[request], by_name[reply]
        if (req.src, req.dst) != (rep.dst, rep.src):
            raise InvalidParameter(f"reply must go back the way the request came ({req.dst}->{req.src}), "
                                   f"got {rep.src}->{rep.dst}")

        def delay(flow):
            fixed = self.latency(flow) + sum(s.overhead for s, _ in self._route(flow))
            mean = pred.value("mean_response", flow)
            return PathDelay(minimum=fixed, queueing_mean=mean - fixed)

        return SyncPath(delay(request), delay(reply), pred.exact)

    def to_frame(self):
        """One row per (flow, station): the flow's path with each station's bandwidth and overhead."""
        import pandas as pd

        rows = [(f.name, k, s.name, s.bandwidth, s.overhead, lat) for f in self.flows
                for k, (s, lat) in enumerate(self._routes[f.name])]
        return pd.DataFrame(rows, columns=["flow", "hop", "station", "bandwidth", "overhead", "latency_after"])
