// crier's page: joins /ws/<room> on this origin, shows what arrives, sends on Enter.
// Message text is only ever inserted with textContent, never as HTML.
'use strict';

const $ = (id) => document.getElementById(id);
let socket = null;

function addLine(text, cls) {
  const li = document.createElement('li');
  li.textContent = text;
  if (cls) li.className = cls;
  $('messages').appendChild(li);
  li.scrollIntoView({ block: 'end' });
}

function setConnected(connected, label) {
  $('status').textContent = label;
  $('text').disabled = !connected;
  $('send').querySelector('button').disabled = !connected;
}

function connect(room) {
  if (socket) socket.close(1000, 'switching room');
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${scheme}//${location.host}/ws/${encodeURIComponent(room)}`);
  ws.binaryType = 'arraybuffer';
  socket = ws;
  setConnected(false, 'connecting…');
  ws.onopen = () => {
    setConnected(true, `connected to ${room}`);
    addLine(`joined room ${room}`, 'system');
    $('text').focus();
  };
  ws.onmessage = (event) => {
    if (typeof event.data === 'string') addLine(event.data);
    else addLine(`[binary message, ${event.data.byteLength} bytes]`, 'system');
  };
  ws.onclose = (event) => {
    if (socket !== ws) return;
    setConnected(false, `disconnected (${event.code})`);
    addLine(`connection closed: ${event.code} ${event.reason}`, 'system');
  };
}

$('join').addEventListener('submit', (e) => {
  e.preventDefault();
  const room = $('room').value.trim() || 'lobby';
  const params = new URLSearchParams(location.search);
  params.set('room', room);
  const name = $('name').value.trim();
  if (name) params.set('name', name); else params.delete('name');
  history.replaceState(null, '', `?${params}`);
  connect(room);
});

$('send').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('text').value;
  if (!text || !socket || socket.readyState !== WebSocket.OPEN) return;
  const name = $('name').value.trim();
  socket.send(name ? `${name}: ${text}` : text);
  $('text').value = '';
});

const params = new URLSearchParams(location.search);
if (params.get('room')) $('room').value = params.get('room');
if (params.get('name')) $('name').value = params.get('name');
connect($('room').value || 'lobby');
