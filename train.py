"""Train the digitrec CNN on MNIST: ``python train.py --help`` lists every setting."""

from digitrec.evaluate import evaluate_and_report
from digitrec.hub import push
from digitrec.training import parse_args, train


def main() -> None:
    cfg, push_to_hub = parse_args()
    train(cfg)
    evaluate_and_report(cfg.out)
    if push_to_hub:
        info = push(push_to_hub, folder=cfg.out)
        print(f"pushed to {info.commit_url}")


if __name__ == "__main__":
    main()
