// crier's page. Speaks crier.v1 (JSON events) to /ws/<room> on this origin, keeps the room and
// name in the URL, shows who is here, and reconnects with backoff, resuming from the last message
// seen so nothing is lost or shown twice.
//
// Everything other people send is inserted with textContent, never as HTML.
'use strict';

(() => {
  const SUBPROTOCOL = 'crier.v1';
  const ROOM_RE = /^[A-Za-z0-9._-]{1,64}$/;
  const NAME_MAX = 32; // characters (code points), as the server counts them
  // What the server refuses in names: bidi controls, zero-width characters, line separators.
  const INVISIBLE = /[\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;
  // A name inside a sentence goes in a <bdi> of its own, so a right-to-left name cannot reorder
  // the words around it; names in elements of their own get CSS unicode-bidi: isolate.
  const nameNode = (name) => {
    const b = document.createElement('bdi');
    b.textContent = name;
    return b;
  };
  const BACKOFF_FIRST_MS = 500;
  const BACKOFF_CAP_MS = 10000;
  const GROUP_MS = 5 * 60 * 1000; // consecutive messages from one sender within this share a header

  const $ = (id) => document.getElementById(id);
  const ui = {
    body: document.body,
    roomTitle: $('room-title'),
    statusText: $('status-text'),
    banner: $('banner'),
    retry: $('retry'),
    switchBtn: $('switch'),
    membersToggle: $('members-toggle'),
    membersCount: $('members-count'),
    membersCount2: $('members-count-2'),
    people: $('people'),
    members: $('members'),
    membersSearch: $('members-search'),
    membersNote: $('members-note'),
    membersMore: $('members-more'),
    log: $('log'),
    jump: $('jump'),
    composer: $('composer'),
    text: $('text'),
    send: $('send'),
    chooser: $('chooser'),
    join: $('join'),
    room: $('room'),
    name: $('name'),
    joinError: $('join-error'),
    joinCancel: $('join-cancel'),
    suggestions: $('room-suggestions'),
    activeRooms: $('active-rooms'),
    activeRoomsList: $('active-rooms-list'),
  };

  const state = {
    room: null, // the room chosen, null before the first choice
    name: '', // the name asked for ('' lets the server pick a guest name)
    token: new URLSearchParams(location.search).get('token'),
    ws: null,
    welcomed: false, // the current socket got its welcome
    everWelcomed: false, // some socket for this room and name got a welcome
    attempt: 0, // failed connection attempts since the last welcome
    reachableFailures: 0, // first attempts that failed while the server answered HTTP
    retryTimer: 0,
    myIds: new Set(), // every id the server gave this page in this room (one per connection)
    myName: '',
    epoch: null, // the room's epoch that `seen` and `lastSeq` belong to
    lastSeq: 0,
    seen: new Set(),
    members: new Map(), // id -> {id, name}; in a big room, only the page(s) shown
    memberCount: 0, // everyone in the room (the server's count)
    bigRoom: false, // the server sends counts, not names: the list is paged on request
    membersNext: null, // the `after` of the next page, or null
    unread: 0,
  };

  // ---- validation (the server's rules, so most mistakes never leave the page) ----

  // The server trims ASCII whitespace only; so does the page, to agree on what a name is.
  const trimAscii = (s) => s.replace(/^[ \t\n\r\v\f]+|[ \t\n\r\v\f]+$/g, '');

  function roomProblem(room) {
    if (!room) return 'Choose a room.';
    if (!ROOM_RE.test(room)) return 'Room names are 1–64 characters: letters, digits, “.”, “_” and “-”.';
    return null;
  }

  function nameProblem(name) {
    if (name === '') return null; // a guest name
    if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return 'Names cannot contain control characters.';
    if (INVISIBLE.test(name)) return 'Names cannot contain invisible formatting characters.';
    if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(name))
      return 'That name has a broken character in it.';
    if ([...name].length > NAME_MAX) return `Names are at most ${NAME_MAX} characters.`;
    return null;
  }

  // ---- status, URL, chooser ----

  function setStatus(kind, text) {
    ui.body.dataset.state = kind; // idle, connecting, open, reconnecting, refused
    ui.statusText.textContent = text;
    const open = kind === 'open';
    ui.text.disabled = !state.room || kind === 'idle' || kind === 'refused';
    ui.send.disabled = !open;
    ui.banner.hidden = kind !== 'reconnecting';
  }

  function writeUrl(room, name) {
    const params = new URLSearchParams(location.search);
    params.set('room', room);
    if (name) params.set('name', name);
    else params.delete('name');
    const query = params.toString();
    history.replaceState(null, '', query ? `?${query}` : location.pathname);
  }

  function openChooser(problem) {
    ui.room.value = state.room || ui.room.value || 'lobby';
    ui.name.value = state.name || ui.name.value;
    ui.joinError.hidden = !problem;
    ui.joinError.textContent = problem || '';
    ui.joinCancel.hidden = !state.room || ui.body.dataset.state === 'refused';
    ui.chooser.hidden = false;
    (problem && /name/i.test(problem) ? ui.name : ui.room).focus();
    loadActiveRooms();
  }

  function closeChooser() {
    ui.chooser.hidden = true;
  }

  // Rooms that have people in them right now, as suggestions.
  async function loadActiveRooms() {
    let rooms;
    try {
      const res = await fetch('/api/rooms', { cache: 'no-store' });
      if (!res.ok) return;
      rooms = await res.json();
    } catch {
      return;
    }
    if (!Array.isArray(rooms)) return;
    rooms = rooms.filter((r) => r && typeof r.room === 'string' && r.members > 0)
      .sort((a, b) => b.members - a.members || a.room.localeCompare(b.room))
      .slice(0, 8);
    ui.suggestions.replaceChildren(...rooms.map((r) => {
      const option = document.createElement('option');
      option.value = r.room;
      return option;
    }));
    ui.activeRoomsList.replaceChildren(...rooms.map((r) => {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'chip';
      const label = document.createElement('span');
      label.textContent = r.room;
      const count = document.createElement('span');
      count.className = 'count';
      count.textContent = String(r.members);
      count.title = `${r.members} ${r.members === 1 ? 'person' : 'people'}`;
      button.append(label, count);
      button.addEventListener('click', () => {
        ui.room.value = r.room;
        ui.name.focus();
      });
      li.append(button);
      return li;
    }));
    ui.activeRooms.hidden = rooms.length === 0;
  }

  // ---- the log ----

  const timeFormat = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
  const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
  const dayFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

  function timeElement(ts) {
    const when = new Date(typeof ts === 'number' ? ts : Date.now());
    const t = document.createElement('time');
    t.dateTime = when.toISOString();
    t.title = dateTimeFormat.format(when);
    const today = new Date().toDateString() === when.toDateString();
    t.textContent = today ? timeFormat.format(when) : `${dayFormat.format(when)}, ${timeFormat.format(when)}`;
    return t;
  }

  function nearBottom() {
    return ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 80;
  }

  function append(li, { forceScroll = false } = {}) {
    const stick = forceScroll || nearBottom();
    ui.log.append(li);
    if (stick) {
      ui.log.scrollTop = ui.log.scrollHeight;
      ui.jump.hidden = true;
    } else if (li.classList.contains('msg')) {
      ui.jump.hidden = false;
    }
  }

  // `text`: a string, or an array of strings and nodes (names in <bdi>).
  function systemLine(text, kind = 'info') {
    const li = document.createElement('li');
    li.className = `system ${kind}`;
    li.append(timeElement(Date.now()));
    const span = document.createElement('span');
    if (Array.isArray(text)) span.append(...text);
    else span.textContent = text;
    li.append(span);
    append(li);
    return li;
  }

  function showMessage(m) {
    const mine = state.myIds.has(m.from.id);
    const li = document.createElement('li');
    li.className = `msg ${mine ? 'mine' : 'theirs'}`;
    if (typeof m.seq === 'number') li.dataset.seq = String(m.seq);
    li.dataset.from = m.from.id;

    // Consecutive messages from the same sender share one header.
    const prev = ui.log.lastElementChild;
    if (prev && prev.classList.contains('msg') && prev.dataset.from === m.from.id &&
        m.ts - Number(prev.dataset.ts) < GROUP_MS) {
      li.classList.add('cont');
    }
    li.dataset.ts = String(m.ts);

    const author = document.createElement('div');
    author.className = 'author';
    author.textContent = mine ? 'You' : m.from.name;
    author.dataset.hue = String(hue(m.from.name));

    const bubble = document.createElement('div');
    bubble.className = 'bubble';
    const body = document.createElement('span');
    body.className = 'text';
    body.textContent = m.text; // text only, never markup
    bubble.append(body, timeElement(m.ts));

    li.append(author, bubble);
    append(li, { forceScroll: mine });
    if (document.hidden && !mine) {
      state.unread += 1;
      updateTitle();
    }
  }

  // Shows a message event unless this epoch's seq was already shown. A message without a seq
  // (a cluster node that lost Redis delivers locally without one) is shown as it comes: it is
  // never replayed, so there is nothing to dedupe.
  function receiveMessage(m) {
    if (!m || !m.from || typeof m.text !== 'string') return;
    if (typeof m.seq !== 'number') {
      showMessage(m);
      return;
    }
    if (state.seen.has(m.seq)) return;
    state.seen.add(m.seq);
    if (m.seq > state.lastSeq) state.lastSeq = m.seq;
    showMessage(m);
  }

  function updateTitle() {
    const base = state.room ? `#${state.room} · crier` : 'crier';
    document.title = state.unread > 0 ? `(${state.unread}) ${base}` : base;
  }

  // ---- members ----

  function renderMembers() {
    const list = [...state.members.values()];
    const nameCounts = new Map();
    for (const m of list) nameCounts.set(m.name, (nameCounts.get(m.name) || 0) + 1);
    list.sort((a, b) => {
      const am = state.myIds.has(a.id), bm = state.myIds.has(b.id);
      if (am !== bm) return am ? -1 : 1;
      return a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }) || a.id.localeCompare(b.id);
    });
    ui.members.replaceChildren(...list.map((m) => {
      const li = document.createElement('li');
      li.dataset.id = m.id;
      const avatar = document.createElement('span');
      avatar.className = 'avatar';
      avatar.textContent = [...m.name][0]?.toUpperCase() || '?';
      avatar.dataset.hue = String(hue(m.name));
      avatar.setAttribute('aria-hidden', 'true');
      const name = document.createElement('span');
      name.className = 'member-name';
      name.textContent = m.name;
      li.append(avatar, name);
      if (nameCounts.get(m.name) > 1) {
        const tag = document.createElement('span');
        tag.className = 'tag';
        tag.textContent = `#${m.id.slice(0, 4)}`;
        tag.title = 'Two people share this name; this tells them apart';
        li.append(tag);
      }
      if (state.myIds.has(m.id)) {
        li.classList.add('me');
        const you = document.createElement('span');
        you.className = 'tag you';
        you.textContent = 'you';
        li.append(you);
      }
      return li;
    }));
    const n = String(state.bigRoom ? state.memberCount : list.length);
    ui.membersCount.textContent = n;
    ui.membersCount2.textContent = n;
    ui.body.dataset.bigRoom = String(state.bigRoom);
    ui.membersSearch.hidden = !state.bigRoom;
    ui.membersMore.hidden = !state.bigRoom || !state.membersNext;
    ui.membersNote.hidden = !state.bigRoom;
    if (state.bigRoom) {
      ui.membersNote.textContent = list.length === 0 ? 'Nobody matches'
        : `Showing ${list.length} of ${state.memberCount}`;
    }
  }

  // Big rooms: the server sends counts, and the list comes a page at a time (at most
  // MEMBER_PAGE rows per page, MEMBER_ROWS in the page at once), filtered by the search box.
  const MEMBER_PAGE = 50;
  const MEMBER_ROWS = 500;
  function requestMembers(more) {
    if (!state.ws || state.ws.readyState !== WebSocket.OPEN) return;
    const req = { type: 'members', limit: MEMBER_PAGE, q: ui.membersSearch.value.trim() };
    if (more && state.membersNext) req.after = state.membersNext;
    state.membersAppend = !!more;
    state.ws.send(JSON.stringify(req));
  }

  function onMembersPage(ev) {
    if (!state.bigRoom) return;
    if (typeof ev.count === 'number') state.memberCount = ev.count;
    const page = (ev.members || []).map((m) => [m.id, m]);
    if (state.membersAppend && state.members.size + page.length <= MEMBER_ROWS) {
      for (const [id, m] of page) state.members.set(id, m);
    } else {
      state.members = new Map(page);
    }
    state.membersNext = typeof ev.next === 'string' ? ev.next : null;
    renderMembers();
  }

  function onPresence(ev) {
    if (typeof ev.count === 'number') state.memberCount = ev.count;
    if (Array.isArray(ev.members)) {
      // The room is small again: this is everyone, and join/leave events follow.
      state.bigRoom = false;
      state.membersNext = null;
      state.members = new Map(ev.members.map((m) => [m.id, m]));
    } else if (!state.bigRoom) {
      state.bigRoom = true;
      requestMembers(false);
    }
    renderMembers();
  }

  // A colour per name (ids change on every connection, names do not), one of 12 the stylesheet
  // defines.
  function hue(name) {
    let h = 0;
    for (const c of name) h = (h * 31 + c.codePointAt(0)) >>> 0;
    return h % 12;
  }

  // ---- the connection ----

  function socketUrl() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const params = [];
    // On reconnects the name the server settled on is kept, so a guest stays the same guest.
    const name = state.everWelcomed ? state.myName : state.name;
    if (name) params.push(`name=${encodeURIComponent(name)}`);
    if (state.epoch !== null) params.push(`since=${state.lastSeq}`, `epoch=${encodeURIComponent(state.epoch)}`);
    // A token that can be a subprotocol entry (a signed token always can) goes as one, beside
    // crier.v1, so that it stays out of the URL, where proxies and access logs would keep it.
    if (state.token && !tokenAsSubprotocol()) params.push(`token=${encodeURIComponent(state.token)}`);
    const query = params.length ? `?${params.join('&')}` : '';
    return `${scheme}//${location.host}/ws/${encodeURIComponent(state.room)}${query}`;
  }

  // RFC 6455 section 4.1: a subprotocol is an RFC 7230 token.
  const tokenAsSubprotocol = () => !!state.token && /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(state.token);

  function connect() {
    clearTimeout(state.retryTimer);
    state.retryTimer = 0;
    if (state.ws) return;
    let ws;
    try {
      const protocols = [SUBPROTOCOL];
      if (tokenAsSubprotocol()) protocols.push(`crier.token.${state.token}`);
      ws = new WebSocket(socketUrl(), protocols);
    } catch (err) {
      setStatus('refused', 'Cannot connect');
      openChooser(`The page could not open a connection: ${err.message}`);
      return;
    }
    ws.binaryType = 'arraybuffer';
    state.ws = ws;
    state.welcomed = false;
    if (ui.body.dataset.state !== 'reconnecting') setStatus('connecting', 'Connecting…');
    let opened = false;
    ws.onopen = () => {
      opened = true;
    };

    ws.onmessage = (event) => {
      if (state.ws !== ws) return;
      if (typeof event.data !== 'string') {
        const bytes = event.data.byteLength ?? event.data.size ?? 0;
        systemLine(`Binary message (${bytes} ${bytes === 1 ? 'byte' : 'bytes'}) — not shown`, 'binary');
        return;
      }
      let ev;
      try {
        ev = JSON.parse(event.data);
      } catch {
        // A server without crier.v1 sends plain text.
        systemLine(event.data, 'raw');
        return;
      }
      handleEvent(ev);
    };

    ws.onclose = (event) => {
      if (state.ws !== ws) return; // a socket the page already let go of
      state.ws = null;
      const wasWelcomed = state.welcomed;
      state.welcomed = false;
      if (wasWelcomed) {
        systemLine(closeExplanation(event), 'warn');
      }
      if (!state.everWelcomed && !opened) {
        diagnoseRefusal();
        return;
      }
      scheduleReconnect();
    };
  }

  function closeExplanation(event) {
    switch (event.code) {
      case 1001: return 'The server is going away; reconnecting…';
      case 1008: return `The server closed the connection (${event.reason || 'policy'}); reconnecting…`;
      case 1009: return 'That message was too large for the server and was not delivered; reconnecting…';
      default: return 'Connection lost; reconnecting…';
    }
  }

  // The first connection for a room and name failed before it opened. The browser does not say
  // why; if the server answers HTTP, it turned the upgrade down (a name it does not accept, most
  // likely), and retrying will not help. If it does not answer, it is just not there yet.
  async function diagnoseRefusal() {
    const room = state.room;
    let reachable = false;
    try {
      const res = await fetch('/api/rooms', { cache: 'no-store' });
      reachable = res.ok;
    } catch {
      reachable = false;
    }
    if (state.room !== room || state.ws) return; // the user moved on meanwhile
    if (!reachable) {
      state.reachableFailures = 0;
      scheduleReconnect();
      return;
    }
    // The server may have come up between the failed attempt and this check: try once more
    // before deciding it refuses.
    state.reachableFailures += 1;
    if (state.reachableFailures < 2) {
      connect();
      return;
    }
    setStatus('refused', 'Not admitted');
    const who = state.name ? `the name “${state.name}”` : 'a guest';
    openChooser(`The server would not let ${who} into #${room}. Try another name.`);
  }

  function scheduleReconnect() {
    clearTimeout(state.retryTimer);
    // 0.5 s doubling to 10 s, each wait drawn from its upper half so clients spread out.
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_FIRST_MS * 2 ** state.attempt);
    const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    state.attempt += 1;
    setStatus('reconnecting', 'Reconnecting…');
    ui.body.dataset.retryIn = String(delay);
    state.retryTimer = setTimeout(connect, delay);
  }

  function handleEvent(ev) {
    switch (ev && ev.type) {
      case 'welcome': return onWelcome(ev);
      case 'message': return receiveMessage(ev);
      case 'join':
        if (!ev.member) return;
        state.members.set(ev.member.id, ev.member);
        renderMembers();
        systemLine([nameNode(ev.member.name), ' joined'], 'presence');
        return;
      case 'leave':
        if (!ev.member) return;
        state.members.delete(ev.member.id);
        renderMembers();
        systemLine([nameNode(ev.member.name), ' left'], 'presence');
        return;
      case 'presence': return onPresence(ev);
      case 'members': return onMembersPage(ev);
      case 'history':
        for (const m of ev.messages || []) receiveMessage(m);
        return;
      case 'error':
        systemLine(`The server said: ${ev.reason || ev.code}`, 'warn');
        return;
      default:
        // Newer servers may send more; ignore what this page does not know.
    }
  }

  function onWelcome(w) {
    const resuming = state.epoch !== null;
    const sameEpoch = resuming && w.epoch === state.epoch;
    state.welcomed = true;
    state.everWelcomed = true;
    state.attempt = 0;
    state.myIds.add(w.id);
    state.myName = w.name;

    if (resuming && !sameEpoch) {
      // The room started over (the server restarted, or the room was emptied and forgotten):
      // its seq numbers restarted too, and everything in this history is new to us.
      state.seen = new Set();
      state.lastSeq = 0;
      systemLine('Reconnected — the server restarted; below is what was said since', 'ok');
    } else if (sameEpoch && !w.resumed) {
      systemLine('Reconnected — some of what was said while you were away is no longer kept', 'warn');
    } else if (resuming) {
      systemLine('Reconnected', 'ok');
    }
    state.epoch = w.epoch;
    ui.body.dataset.epoch = w.epoch;

    state.members = new Map((w.members || []).map((m) => [m.id, m]));
    state.memberCount = typeof w.member_count === 'number' ? w.member_count : state.members.size;
    // A big room's welcome lists only some members: show the count, and page the list.
    state.bigRoom = state.memberCount > state.members.size;
    state.membersNext = null;
    renderMembers();
    if (state.bigRoom) requestMembers(false);

    if (!resuming) systemLine([`You joined #${w.room} as `, nameNode(w.name)], 'info');
    for (const m of w.history || []) receiveMessage(m);
    // Whatever the room said up to w.seq and did not keep is gone for good: resume after it.
    if (typeof w.seq === 'number' && w.seq > state.lastSeq) state.lastSeq = w.seq;

    setStatus('open', `Connected as ${w.name}`);
    ui.roomTitle.textContent = `#${w.room}`;
    if (ui.chooser.hidden) ui.text.focus({ preventScroll: true });
  }

  // Starts over in `room` as `name`: a fresh log, fresh members, a fresh resume point.
  function enterRoom(room, name) {
    if (state.ws) {
      const old = state.ws;
      state.ws = null;
      old.close(1000, 'switching room');
    }
    clearTimeout(state.retryTimer);
    Object.assign(state, {
      room, name, welcomed: false, everWelcomed: false, attempt: 0, reachableFailures: 0, myIds: new Set(), myName: '',
      epoch: null, lastSeq: 0, seen: new Set(), members: new Map(), memberCount: 0, bigRoom: false, membersNext: null, unread: 0,
    });
    ui.log.replaceChildren();
    renderMembers();
    ui.roomTitle.textContent = `#${room}`;
    ui.text.placeholder = `Message #${room}`;
    ui.switchBtn.hidden = false;
    ui.membersToggle.hidden = false;
    writeUrl(room, name);
    updateTitle();
    closeChooser();
    setStatus('connecting', 'Connecting…');
    connect();
  }

  // ---- user actions ----

  ui.join.addEventListener('submit', (e) => {
    e.preventDefault();
    const room = ui.room.value.trim();
    const name = trimAscii(ui.name.value);
    const problem = roomProblem(room) || nameProblem(name);
    if (problem) {
      ui.joinError.textContent = problem;
      ui.joinError.hidden = false;
      (roomProblem(room) ? ui.room : ui.name).focus();
      return;
    }
    if (room === state.room && name === state.name && ui.body.dataset.state === 'open') {
      closeChooser();
      return;
    }
    enterRoom(room, name);
  });

  ui.joinCancel.addEventListener('click', closeChooser);
  ui.switchBtn.addEventListener('click', () => openChooser(null));
  ui.chooser.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !ui.joinCancel.hidden) closeChooser();
  });

  ui.retry.addEventListener('click', () => {
    state.attempt = 0;
    connect();
  });

  let searchTimer = null;
  ui.membersSearch.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => requestMembers(false), 200);
  });
  ui.membersMore.addEventListener('click', () => requestMembers(true));

  ui.membersToggle.addEventListener('click', () => {
    const open = ui.body.classList.toggle('people-open');
    ui.membersToggle.setAttribute('aria-expanded', String(open));
  });

  ui.jump.addEventListener('click', () => {
    ui.log.scrollTop = ui.log.scrollHeight;
    ui.jump.hidden = true;
  });
  ui.log.addEventListener('scroll', () => {
    if (nearBottom()) ui.jump.hidden = true;
  });

  function sendCurrent() {
    const text = ui.text.value;
    if (!text.trim()) return;
    if (!state.ws || !state.welcomed || state.ws.readyState !== WebSocket.OPEN) return; // kept as a draft
    state.ws.send(JSON.stringify({ type: 'message', text }));
    ui.text.value = '';
    autosize();
  }

  ui.composer.addEventListener('submit', (e) => {
    e.preventDefault();
    sendCurrent();
    ui.text.focus();
  });

  ui.text.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      sendCurrent();
    }
  });

  function autosize() {
    if (!ui.text.value) {
      ui.text.style.height = ''; // back to one line (a long placeholder would count otherwise)
      return;
    }
    ui.text.style.height = 'auto';
    ui.text.style.height = `${Math.min(ui.text.scrollHeight, 160)}px`;
  }
  ui.text.addEventListener('input', autosize);

  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && state.unread) {
      state.unread = 0;
      updateTitle();
    }
  });

  // Back online: no point waiting out the backoff.
  window.addEventListener('online', () => {
    if (ui.body.dataset.state === 'reconnecting') {
      state.attempt = 0;
      connect();
    }
  });

  // ---- start ----

  const params = new URLSearchParams(location.search);
  const room = (params.get('room') || '').trim();
  const name = trimAscii(params.get('name') || '');
  if (params.get('name') !== null) ui.name.value = name;
  if (room) ui.room.value = room;
  const problem = room ? roomProblem(room) || nameProblem(name) : null;
  if (room && !problem) {
    enterRoom(room, name);
  } else {
    setStatus('idle', 'Not connected');
    openChooser(problem);
  }
})();
