-- wrk script: replay pre-signed WeChat pushes from a file, each thread its own slice.
-- Line format: <path with query>\t<body>
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  requests, n = {}, 0
  local index = 0
  for line in io.lines(file) do
    if index % nthreads == id - 1 then
      local path, body = line:match("^([^\t]+)\t(.*)$")
      n = n + 1
      requests[n] = wrk.format("POST", path, {["Content-Type"] = "text/xml"}, body)
    end
    index = index + 1
  end
  i = 0
end

function request()
  i = i % n + 1
  return requests[i]
end
