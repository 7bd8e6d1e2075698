-- testlib.lua -- the small test harness shared by the Lua test scripts.
--
--     local T = dofile(arg[0]:match("^(.-)[^/]*$") .. "testlib.lua")
--
-- Every check counts; the first failure prints where it happened and exits
-- with status 1; T.done() prints "N passed, 0 failed".

local T = { passed = 0, current = "(setup)" }

function T.fail(msg)
  io.stderr:write(string.format("FAIL [%s]: %s\n", T.current, msg))
  io.stderr:write(debug.traceback("", 2), "\n")
  io.stderr:write(string.format("%d passed, 1 failed\n", T.passed))
  os.exit(1)
end

function T.check(cond, msg)
  if not cond then T.fail(msg or "check failed") end
  T.passed = T.passed + 1
end

function T.eq(got, want, msg)
  if got ~= want then
    T.fail(string.format("%s: expected %q, got %q", msg or "value", tostring(want), tostring(got)))
  end
  T.passed = T.passed + 1
end

-- pcall(f, ...) must fail with an error (not crash, not succeed).
function T.raises(msg, f, ...)
  local ok, err = pcall(f, ...)
  if ok then T.fail(msg .. ": expected an error, call succeeded") end
  if type(err) ~= "string" then T.fail(msg .. ": error is not a string") end
  T.passed = T.passed + 1
  return err
end

function T.test(name, f)
  T.current = name
  f()
end

-- UTF-8 encoding of code points, so that look-alike letters are explicit.
function T.u(...)
  local out = {}
  for _, c in ipairs({...}) do
    if c < 0x80 then
      out[#out + 1] = string.char(c)
    elseif c < 0x800 then
      out[#out + 1] = string.char(0xC0 + math.floor(c / 0x40), 0x80 + c % 0x40)
    elseif c < 0x10000 then
      out[#out + 1] = string.char(0xE0 + math.floor(c / 0x1000),
                                  0x80 + math.floor(c / 0x40) % 0x40, 0x80 + c % 0x40)
    else
      out[#out + 1] = string.char(0xF0 + math.floor(c / 0x40000),
                                  0x80 + math.floor(c / 0x1000) % 0x40,
                                  0x80 + math.floor(c / 0x40) % 0x40, 0x80 + c % 0x40)
    end
  end
  return table.concat(out)
end

function T.read_file(path)
  local f, err = io.open(path, "rb")
  if not f then
    io.stderr:write("cannot open " .. tostring(path) .. ": " .. tostring(err) .. "\n")
    os.exit(2)
  end
  local s = f:read("*a")
  f:close()
  return s
end

function T.done()
  print(string.format("%d passed, 0 failed", T.passed))
end

return T
