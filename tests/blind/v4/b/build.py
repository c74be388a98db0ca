import json,glob,os
out=[]
for f in sorted(glob.glob('src/*.txt')):
    intent=os.path.basename(f)[:-4]
    for line in open(f,encoding='utf-8'):
        line=line.rstrip('\n')
        if not line.strip(): continue
        parts=line.split('|')
        form,text=parts[0],parts[1]
        words=[w for w in (parts[2].split(',') if len(parts)>2 else []) if w]
        out.append({"text":text,"intent":intent,"must_contain_any":words,"form":form})
with open('understanding_blind_v4b.jsonl','w',encoding='utf-8') as o:
    for r in out: o.write(json.dumps(r,ensure_ascii=False)+'\n')
print(len(out))
