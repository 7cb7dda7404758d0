# zmqipc.includes: raw C declarations, one .pxd per C header; no logic.
