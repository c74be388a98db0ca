import json,re,sys,collections
INT={"emergency":100,"knowledge":110,"hazard_statement":45,"report":35}
ALL={"emergency","knowledge","hazard_statement","quiz","report","events","township","ticket_query","my_reports","prize","leaderboard","my_score","help","greeting","out_of_scope"}
FORMS="plain voice pinyin traditional typo emoji filler dialect english_mix short long indirect elderly".split()
HOT={"12345","12333","12315","95598","12329","12393"}
err=[];c=collections.Counter();fc=collections.Counter();seen={}
for i,l in enumerate(open('understanding_blind_v4a.jsonl',encoding='utf-8'),1):
    try: r=json.loads(l)
    except Exception as e: err.append(f"{i} bad json");continue
    if set(r)!={"text","intent","must_contain_any","form"}: err.append(f"{i} keys");continue
    it,m=r["intent"],r["must_contain_any"]
    if it not in ALL: err.append(f"{i} intent {it}")
    if r["form"] not in FORMS: err.append(f"{i} form {r['form']}")
    c[it]+=1;fc[r["form"]]+=1
    k=''.join(ch for ch in r["text"].casefold() if ch.isalnum())
    if k in seen: err.append(f"{i} dup of {seen[k]}")
    seen[k]=i
    if it=="emergency" and not any(re.search(r'\d',x) for x in m): err.append(f"{i} emergency no number")
    elif it=="knowledge" and not 1<=len(m)<=4: err.append(f"{i} knowledge words")
    elif it=="out_of_scope" and not set(m)<=HOT: err.append(f"{i} oos hotline")
    elif it not in("emergency","knowledge","out_of_scope") and m: err.append(f"{i} nonempty")
for it,n in INT.items():
    if c[it]<n: err.append(f"count {it} {c[it]}<{n}")
for f in FORMS:
    if f!="plain" and fc[f]<8: err.append(f"form {f} {fc[f]}<8")
print(dict(c));print(dict(fc))
print("\n".join(err) if err else "ALL CHECKS PASSED"); sys.exit(1 if err else 0)
