/** The offset pager under a list (Users, Rooms, Reports): back, "first–last of total", forward. */
export function Pager(props: {
  from: number;
  pageSize: number;
  total: number;
  setFrom: (from: number) => void;
  labels?: [back: string, forward: string];
}) {
  const { from, pageSize, total, setFrom } = props;
  const [back, forward] = props.labels ?? ["Previous", "Next"];
  return (
    <div className="pager">
      <button type="button" disabled={from === 0} onClick={() => setFrom(Math.max(0, from - pageSize))}>
        {back}
      </button>
      <span>
        {total === 0 ? 0 : from + 1}–{Math.min(from + pageSize, total)} of {total.toLocaleString()}
      </span>
      <button type="button" disabled={from + pageSize >= total} onClick={() => setFrom(from + pageSize)}>
        {forward}
      </button>
    </div>
  );
}
